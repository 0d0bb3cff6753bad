"""The one exception type the CLI prints as a single clear line (no traceback)."""


class CliError(Exception):
    """A user-facing error: say what is wrong, where, and what to do."""
