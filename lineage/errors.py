"""Errors the engine raises, one family under :class:`LineageError`.

The command line turns any of them into one line on stderr and exit code 2; the HTTP layer
into a 4xx JSON answer. Messages say what is wrong, where, and what to do instead.

    LineageError
    ├── InputError            unreadable or malformed input, with file and line
    │   ├── RegistryError     a registry file that cannot be read as a registry
    │   └── EventError        an event that does not validate
    ├── TransformError        a transform that is unknown, has bad arguments or cannot run
    ├── ConflictError         an event id re-sent with different content
    ├── NotFoundError         a system, element or record the store does not know
    └── StoreError            the database cannot be opened or migrated
"""

from __future__ import annotations


class LineageError(Exception):
    """Base of every error the engine raises on purpose."""


class InputError(LineageError):
    """Input that cannot be read: carries the ``file`` and ``line`` where it went wrong."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        self.file = file
        self.line = line
        self.reason = message
        where = ""
        if file is not None:
            where = f"{file}:{line}: " if line is not None else f"{file}: "
        super().__init__(f"{where}{message}")


class RegistryError(InputError):
    """A registry file that is not valid YAML or not shaped as a registry."""


class EventError(InputError):
    """A runtime event that does not validate."""


class TransformError(LineageError):
    """A transform that is not in the catalogue, has bad arguments, or fails on its inputs."""

    def __init__(self, message: str, *, transform: str | None = None) -> None:
        self.transform = transform
        super().__init__(message)


class ConflictError(LineageError):
    """An event id that was stored before with different content."""

    def __init__(self, message: str, *, event_id: str) -> None:
        self.event_id = event_id
        super().__init__(message)


class NotFoundError(LineageError):
    """A place (system, element, record) or record the store holds nothing for."""


class StoreError(LineageError):
    """The database cannot be opened, reached or migrated."""
