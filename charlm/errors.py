"""The one exception type users see: the CLI prints its message as one line and exits 2."""


class CharlmError(Exception):
    """A problem with the user's input (a file, a config, an option), never a bug in charlm.

    The message says what is wrong, where, and how to fix it, in one line.
    """
