"""``python -m synopse`` runs the command line (used by the supervisor to start child processes)."""

from synopse.cli import main

main()
