"""``python -m ltx_audioloop``: the command line."""

import sys

from .cli import main

sys.exit(main())
