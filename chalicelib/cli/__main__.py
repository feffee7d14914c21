"""`python -m chalicelib.cli`: the leadflow command."""

import sys

from chalicelib.cli import main

sys.exit(main())
