"""The presentation layer: figures (plotting.py), the planner's report (report.py) and the trainer dashboard
(dashboard.py). Each is a function of output datasets, never of a live model (the dashboard runs its own)."""
