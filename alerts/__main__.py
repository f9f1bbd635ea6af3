"""``python -m alerts ...``: the alerts commands without the composition root (tests, a container entry point)."""

from alerts.commands import app

app(prog_name="synopse alerts")
