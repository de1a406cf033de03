"""The policy layer: interventions (a registry of names, interventions.py) and named scenarios (scenarios.py). It
builds on the model layer: interventions act on a running model through its levers."""
