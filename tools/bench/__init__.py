"""Benchmarks: scripts that start what they measure and print numbers (never timed tests)."""
