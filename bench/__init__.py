"""The benchmark harness: the project against what a user would otherwise pick.

`python -m bench` runs every benchmark in `suite.BENCHMARKS` and prints one
table of ratios (see DESIGN.md, "Performance").  Each benchmark is a module
with a `run(options) -> Report`; it starts and stops whatever it needs.
Timed budgets live here, never in the test suite.
"""
