"""`python -m streams`: the hotline command."""
import sys

from streams.commands.cli import main

sys.exit(main())
