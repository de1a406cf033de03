"""The experiments layer: single runs (runner.py), comparisons and sweeps with their cache (comparison.py, cache.py),
sensitivity analysis and calibration, and the management of worker processes (processes.py)."""
