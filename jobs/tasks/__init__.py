"""Task functions by area."""
