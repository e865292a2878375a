"""Statutory time limits: the holiday calendar, the limits registry and the cached reference data."""
