"""Administrators' commands: users, units, roles, credentials, time limits and the calendar."""
