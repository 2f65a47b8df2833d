"""Repositories: every query of the store lives here, one module per area."""
