"""The full-process record (全过程记录): per-case hash chains and the stdlib-only offline check."""
