"""Domain errors raised deep in the code and translated once at the edges (CLI, HTTP)."""


class CnaiError(Exception):
    """Base class: the message is shown to the user as is, so it says what to do."""


class BadDocument(CnaiError):
    """A file cannot be turned into text (unreadable, empty, binary, not UTF-8, malformed)."""


class IndexNotFound(CnaiError):
    """No usable index at the given folder."""


class IndexMismatch(CnaiError):
    """The index was built in a way this process cannot trust or use (model, format)."""


class BadInput(CnaiError):
    """A user-supplied argument is invalid."""
