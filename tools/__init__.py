"""Offline tools (evaluations on real data); never imported by the servers."""
