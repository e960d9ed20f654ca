"""Speed benchmarks of losskit against the code people would otherwise write or call.

Run from the repository root, e.g. ``python -m benchmarks.elementwise --quick``;
``benchmarks/README.md`` says how to read the ratios. Speed is measured here, never
asserted in the test suite (``tests/test_benchmarks.py`` only runs the machinery on a
tiny size and checks that every competitor computes the same numbers as losskit).
"""
