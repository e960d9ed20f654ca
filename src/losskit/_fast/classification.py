"""Fused kernels: classification losses (placeholder until written)."""
