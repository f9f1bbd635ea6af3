"""Simulator: a seeded, deterministic territory that produces realistic feeds."""
