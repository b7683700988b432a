"""What a reader found out about one error, before the policy decided what to report.

The readers (:mod:`parsers.errors.classify` for nix's reports, :mod:`parsers.errors.blocks`
for other multi-line reports, :mod:`parsers.activation` for activation output) return a
:class:`Finding`: a plain, mutable draft that the reader fills in as it learns more.  Only
:class:`parsers.errors.policy.ErrorPolicy` turns a finding into the immutable-by-convention
``error`` event, once, when it commits it; nothing downstream ever sees a half-built event,
and no two modules edit the same event.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from parsers.events import ErrorEvent


@dataclass(slots=True)
class Finding:
    """The fields of :class:`parsers.events.ErrorEvent`, as a draft."""

    kind: str
    message: str
    root_cause: bool = True
    derivation: str | None = None
    drv_path: str | None = None
    exit_code: int | None = None
    phase: str | None = None
    log_tail: list[str] = field(default_factory=list)
    file: str | None = None
    line: int | None = None
    column: int | None = None
    trace: list[str] = field(default_factory=list)
    units: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    specified: str | None = None
    got: str | None = None
    detail: str | None = None
    hint: str | None = None

    def event(self) -> ErrorEvent:
        """The ``error`` event of this finding (lists copied: the draft may live on)."""
        return ErrorEvent(
            kind=self.kind, message=self.message, root_cause=self.root_cause,
            derivation=self.derivation, drv_path=self.drv_path, exit_code=self.exit_code,
            phase=self.phase, log_tail=list(self.log_tail), file=self.file, line=self.line,
            column=self.column, trace=list(self.trace), units=list(self.units),
            paths=list(self.paths), specified=self.specified, got=self.got, detail=self.detail,
            hint=self.hint)
