"""matches domain."""
