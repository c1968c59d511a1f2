"""heron's own version: one home, imported by the package and by modules below it."""

__version__ = "0.1.0"
