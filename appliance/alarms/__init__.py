"""Alarms: the operator's sentences about what needs attention, kept in the database."""
