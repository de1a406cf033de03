"""Validation suite: the model against published empirical regularities (docs/validation.md).

Run it alone with `python -m pytest -m validation`; it also runs in the normal `python -m pytest`.
"""


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "validation: checks the model against a published empirical regularity (docs/validation.md)")
