"""Background jobs on arq."""
