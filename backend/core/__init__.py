"""Plumbing shared by every domain: settings, database, jobs, templating, security."""
