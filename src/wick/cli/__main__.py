"""``python -m wick.cli``: the ``wick`` command."""

import sys

from .main import main

sys.exit(main())
