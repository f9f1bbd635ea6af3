"""Embedded runtime: broker and PostgreSQL for the default install, and the process supervisor."""
