"""Helpers shared by tests: the command line in-process, free ports."""
