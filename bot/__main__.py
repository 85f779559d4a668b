"""`python -m bot` does what the `achilles-coach` command does."""

from bot.cli import main

raise SystemExit(main())
