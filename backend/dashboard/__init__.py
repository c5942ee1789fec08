"""Coordinator dashboard: the area's figures as charts with their tables (docs/dashboard.md)."""
