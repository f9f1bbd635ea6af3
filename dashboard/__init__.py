"""Dashboard: the Dash web front end for crisis cells and partners."""
