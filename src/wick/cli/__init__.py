"""The ``wick`` command."""
