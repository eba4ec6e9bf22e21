"""Benchmark metrics for generative chemistry (MOSES distribution-learning metrics)."""
