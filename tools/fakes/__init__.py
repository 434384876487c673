"""Local servers that speak third-party platforms' real protocols (their formats, errors and
limits), for the tests and benchmarks: nothing here talks to the real platforms."""
