"""Complaints and reports (grievance channel): intake, triage with deadlines, tracking by code."""
