"""The ``wick`` console script's entry point, outside the ``wick`` package on purpose.

Importing ``wick.cli.main`` first imports ``wick`` (NumPy and the engine); a Ctrl-C during that
import, the first fraction of a second of every run, must still be one line and exit status
130, like a Ctrl-C at any later moment (which ``wick.cli.main.main`` handles), not a traceback.
"""

import signal
import sys

received = []  # the SIGINTs seen: a C extension interrupted while it initialises may report
# an unrelated ImportError (NumPy: "could not import module datetime") instead of the Ctrl-C


def _on_sigint(signum, frame):
    received.append(signum)
    raise KeyboardInterrupt  # what Python's default handler does


signal.signal(signal.SIGINT, _on_sigint)


def interrupted(exc) -> bool:
    """Whether a Ctrl-C came, or ``exc`` is or was caused by one."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return bool(received)


def main() -> int:
    """Runs ``wick.cli.main.main``; a Ctrl-C while it is being imported exits with 130."""
    try:
        from wick.cli.main import main as run
    except (KeyboardInterrupt, Exception) as exc:
        if interrupted(exc):
            sys.stderr.write("\nwick: interrupted\n")
            return 130
        sys.stderr.write(f"wick: error: cannot import wick ({type(exc).__name__}: {exc})\n")
        return 2
    return run()


if __name__ == "__main__":
    sys.exit(main())
