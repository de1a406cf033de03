"""The model layer: `MigrationModel` (migration.py), the household columns and Mesa views (households.py), the
processes of the month (climate, labour, decisions, pathways, abroad, budgets), the levers in force (levers.py) and
the recording of outputs (outputs.py). It builds on the world layer and the base modules (params, config, errors,
rng), never on the policy, experiments or presentation layers."""
