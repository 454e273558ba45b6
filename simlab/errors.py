"""Errors a user can fix. The CLI turns these into one line on stderr and exit code 2."""


class UsageError(Exception):
    """Bad input from the user: the message says what is wrong and how to fix it."""


class DataError(UsageError):
    """Data that is missing or malformed: the message names the remedies."""
