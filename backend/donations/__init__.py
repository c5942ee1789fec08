"""donations domain."""
