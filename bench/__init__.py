"""Benchmarks: `just bench` (see docs/benchmarks.md)."""
