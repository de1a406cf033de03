"""Errors raised for bad user input: config values, world tables, scenario files.

Each message names the field, the value and what is allowed, so that a user can fix the input without reading code.
Entry points (run.py) print these messages without a traceback and exit non-zero.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad input from the user (config, world table, scenario file)."""


class ConfigError(InputError):
    """A config value is out of range, of the wrong kind, or unknown.

    Example:
        >>> str(ConfigError("model.irregular.death_probability", 1.5, "a number in [0, 1]"))
        'model.irregular.death_probability = 1.5 is not allowed: expected a number in [0, 1]'
    """

    def __init__(self, field: str, value: object, allowed: str) -> None:
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(f"{field} = {value!r} is not allowed: expected {allowed}")

    def __reduce__(self) -> tuple:
        # rebuilt from its three parts, so that an error raised in a worker process reaches the parent intact
        return type(self), (self.field, self.value, self.allowed)


class WorldError(InputError):
    """A world table is missing, malformed, or inconsistent."""
