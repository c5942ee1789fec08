"""regions domain."""
