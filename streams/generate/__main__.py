import sys

from streams.generate.cli import main

sys.exit(main())
