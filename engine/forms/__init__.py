"""Task forms: the JSON Schema a task's data must satisfy, and the rules that need the case."""
