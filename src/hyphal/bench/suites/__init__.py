"""Benchmark suites, one module per capability; each exposes ``run(ctx)``."""
