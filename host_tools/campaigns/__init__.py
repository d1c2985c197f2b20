"""Campaigns: a scenario across many boards (bench) and the narrated demo mission."""
