"""Delivery: updates in (the inbox workers) and replies out after the commit."""
