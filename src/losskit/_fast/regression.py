"""Fused kernels: regression losses (placeholder until written)."""
