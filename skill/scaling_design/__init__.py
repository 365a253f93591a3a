"""scaling-design: design scaling-law experiments and analyse their results."""

__version__ = "0.1.0"
