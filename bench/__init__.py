"""Benchmarks for Kiln. Generated data lives in bench/data/, results in bench/results/."""
