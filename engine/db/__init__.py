"""The database handle, the write-behind queue and the one command decorator: how a change reaches the database."""
