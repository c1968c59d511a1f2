"""Logs and alerts: ship log records as events, search them, alert on them."""
