"""One exception hierarchy. Every message says what went wrong, where, and what to do about it."""

from __future__ import annotations


class WirepubError(Exception):
    """Root of every error wirepub raises on purpose."""


class ConfigError(WirepubError):
    """The configuration is missing, malformed, or names something that does not exist."""

    def __init__(self, message: str, *, key: str | None = None, path: str | None = None) -> None:
        self.key = key
        self.path = path
        where = ", ".join(p for p in (path, f"key {key}" if key else None) if p)
        super().__init__(f"{where}: {message}" if where else message)


class StoryError(WirepubError):
    """A story could not be read: names the file, the field and the reason."""

    def __init__(self, reason: str, *, file: str, field: str | None = None) -> None:
        self.file = file
        self.field = field
        self.reason = reason
        super().__init__(f"{file}: {field or 'file'}: {reason}")


class DocumentInvalid(WirepubError):
    """A rendered document failed its schema; it is not delivered."""

    def __init__(
        self, *, story: str, format: str, line: int | None, message: str, schema: str
    ) -> None:
        self.story = story
        self.format = format
        self.line = line
        self.message = message
        self.schema = schema
        at = f"line {line}" if line is not None else "document"
        super().__init__(
            f"story {story}, format {format}, {at}: {message} (schema {schema}); nothing was delivered"
        )

    @property
    def plain(self) -> str:
        """The finding alone, for a document checked on its own (wirepub validate): no story, no delivery."""
        at = f"line {self.line}" if self.line is not None else "document"
        return f"{at}: {self.message} (schema {self.schema})"


class RenderError(WirepubError):
    """A template or renderer failed (a broken template override, usually)."""


class DestinationError(WirepubError):
    """A destination refused a write, or its URL cannot be used."""


class SourceError(WirepubError):
    """A source as a whole cannot be read (its folder is missing, its server refuses): nothing was collected."""


class StoreError(WirepubError):
    """The store cannot be used (locked, damaged, full, unreachable, refused): the sentence says what to do."""
