"""resources domain."""
