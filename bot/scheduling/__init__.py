"""Schedules: local-time rules, the run ledger and the scheduler."""
