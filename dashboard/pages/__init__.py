"""Page layouts of the dashboard: one module per page, each a pure function returning its component tree."""
