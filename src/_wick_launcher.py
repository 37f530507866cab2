"""The ``wick`` console script's entry point, outside the ``wick`` package on purpose.

Importing ``wick.cli.main`` first imports ``wick`` (NumPy and the engine); a Ctrl-C during that
import, the first fraction of a second of every run, must still be one line and exit status
130, like a Ctrl-C at any later moment (which ``wick.cli.main.main`` handles), not a traceback.
"""

import sys


def main() -> int:
    """Runs ``wick.cli.main.main``; a Ctrl-C while it is being imported exits with 130."""
    try:
        from wick.cli.main import main as run
    except KeyboardInterrupt:
        sys.stderr.write("\nwick: interrupted\n")
        return 130
    return run()


if __name__ == "__main__":
    sys.exit(main())
