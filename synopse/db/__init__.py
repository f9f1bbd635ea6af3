"""Database access: the only place SQL lives (psycopg 3)."""
