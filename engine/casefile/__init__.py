"""The case file (案卷) as a whole: export for offline checking, and verification of the full record."""
