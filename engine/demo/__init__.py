"""Demo data: units, users and cases in different states, made with the commands officers use."""
