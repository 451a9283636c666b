"""Benchmarks for Stagegate (run with `python -m bench.run`)."""
