"""Volunteer tasks, slots, sign-ups and hours."""
