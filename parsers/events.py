"""The event contract shared by parsers, sinks and the orchestrator.

Every event is a msgspec Struct tagged by ``type``; on the wire (NDJSON, one object a
line) each carries ``v`` (schema version), ``seq`` (strictly increasing within one
build), ``ts`` (RFC 3339, UTC) and ``type``.  Field names are camelCase on the wire so
that they read like ``last-build.json``.

Compatibility rule: within one schema version fields may be added (with defaults) and
new event types may appear; nothing is renamed or removed.  Consumers must ignore
unknown types and fields.  ``docs/events.md`` documents every type with an example;
``tests/test_events_contract.py`` keeps the two in step.
"""

from __future__ import annotations

from typing import Any, Final, Literal

import msgspec

SCHEMA_VERSION: Final = 1


class Event(msgspec.Struct, tag_field="type", kw_only=True, rename="camel"):
    v: int = SCHEMA_VERSION
    seq: int = 0
    ts: str = ""


# --- lifecycle ------------------------------------------------------------------------


class BuildStarted(Event, tag="build.started", kw_only=True):
    """Always the first event of a stream."""

    build_id: str
    source: Literal["wrapper", "log"] = "wrapper"
    hostname: str | None = None
    user: str | None = None
    target: str | None = None
    action: str | None = None
    tool: str | None = None
    argv: list[str] = []
    flake: str | None = None
    log_path: str | None = None
    events_from: str | None = None
    """Where the events come from: ``internal-json`` (nix's stream) or ``text`` (the
    tool's output parsed: Home Manager <= 24.11, ``--console tool``); null: not known."""
    capture: Literal["json-log-path", "log-format", "text"] | None = None
    """How nix's stream was captured: ``json-log-path`` (Nix >= 2.30 wrote it to the
    wrapper's socket; the tool's argv untouched), ``log-format`` (``--log-format
    internal-json`` on the command line, read from the terminal), ``text`` (none: the
    tool's text parsed); null: not known (a saved log)."""
    nix_version: str | None = None
    """The installed nix's version (``2.34.8``; Lix's own, e.g. ``2.91.1``)."""
    nix_flavour: Literal["nix", "lix", "determinate"] | None = None
    """Which nix: NixOS/nix, Lix, or Determinate Nix; null: not known."""
    build_host: str | None = None
    """``--build-host``: where the system is built (null: here, or nix's builders)."""
    target_host: str | None = None
    """``--target-host``: where it is copied and activated (null: here)."""


class SubstituterUse(msgspec.Struct, kw_only=True, rename="camel"):
    """What one binary cache sent during a build (``build.finished``'s
    ``substituters``): store paths and their bytes as nix counted them."""

    url: str
    paths: int = 0
    bytes: int = 0


class BuildFinished(Event, tag="build.finished", kw_only=True):
    """Always the last event of a stream, also after Ctrl-C or a crashed child.

    ``exitCode`` is the wrapped tool's exit code (128+N for a death by signal N), or
    null when a saved log is parsed and the code is unknown.  ``downloaded`` paths were
    substituted (``downloadedBytes`` in all, per binary cache in ``substituters``);
    ``built`` derivations were built, here or on remote builders.
    """

    exit_code: int | None
    success: bool | None
    duration_ms: int | None = None
    built: int = 0
    failed: int = 0
    aborted: int = 0
    downloaded: int = 0
    uploaded: int = 0
    errors: int = 0
    signal: int | None = None
    interrupted: bool = False
    downloaded_bytes: int = 0
    substituters: list[SubstituterUse] = []


class Plan(Event, tag="plan", kw_only=True):
    """What nix announced it will build and fetch ("these N derivations will be built")."""

    builds: list[str] = []
    downloads: list[str] = []
    download_bytes: int | None = None
    unpacked_bytes: int | None = None
    dry_run: bool = False


# --- derivations ----------------------------------------------------------------------


class DerivationStarted(Event, tag="derivation.started", kw_only=True):
    drv_path: str
    name: str
    machine: str | None = None


class Phase(Event, tag="phase", kw_only=True):
    drv_path: str
    name: str
    phase: str


class DerivationFinished(Event, tag="derivation.finished", kw_only=True):
    drv_path: str
    name: str
    machine: str | None = None
    duration_ms: int | None = None
    status: str | None = None
    """Nix's BuildResult status when it sent one (Determinate Nix: ``Built``)."""


class DerivationFailed(Event, tag="derivation.failed", kw_only=True):
    drv_path: str
    name: str
    reason: Literal["builder-failed", "hash-mismatch", "unknown"] = "builder-failed"
    exit_code: int | None = None
    phase: str | None = None
    machine: str | None = None
    duration_ms: int | None = None
    log_tail: list[str] = []
    status: str | None = None
    """Nix's BuildResult status when it sent one (Determinate Nix: ``PermanentFailure``,
    ``TimedOut``, ``HashMismatch``…, ``parsers/payloads.py``)."""


class DerivationAborted(Event, tag="derivation.aborted", kw_only=True):
    """A build that was still running when nix stopped (another failure, Ctrl-C)."""

    drv_path: str
    name: str
    phase: str | None = None
    machine: str | None = None
    duration_ms: int | None = None


# --- transfers ------------------------------------------------------------------------


class DownloadStarted(Event, tag="download.started", kw_only=True):
    path: str
    name: str
    source: str | None = None


class DownloadFinished(Event, tag="download.finished", kw_only=True):
    path: str
    name: str
    source: str | None = None
    bytes: int | None = None
    duration_ms: int | None = None


class UploadStarted(Event, tag="upload.started", kw_only=True):
    path: str
    name: str
    destination: str | None = None


class UploadFinished(Event, tag="upload.finished", kw_only=True):
    path: str
    name: str
    destination: str | None = None
    bytes: int | None = None
    duration_ms: int | None = None


class Progress(Event, tag="progress", kw_only=True):
    """Counters of one nix activity.

    ``scope`` names the activity: ``builds`` (all builds: done/expected/running/failed
    derivations), ``copy-paths`` (all substitutions), ``realise``, or a single transfer
    (``copy-path`` with ``path``, ``file-transfer`` with the URL in ``path``; counts are
    bytes).  Emitted when the numbers change; a single transfer reports at most once per
    percent, and always when it completes.

    ``etaMs`` (scope ``builds``, written by the wrapper): the time the builds running
    and waiting are expected to take still, from the times they took before; null when
    none of them was built before.
    """

    scope: str
    done: int
    expected: int
    running: int = 0
    failed: int = 0
    path: str | None = None
    activity_id: int | None = None
    eta_ms: int | None = None


class Expected(Event, tag="expected", kw_only=True):
    """Nix's running estimate of how much work of one kind is ahead (SetExpected)."""

    scope: str
    of: str
    count: int
    activity_id: int | None = None


# --- text -----------------------------------------------------------------------------


class LogLine(Event, tag="log.line", kw_only=True):
    """One line of output.  ``source`` is ``build`` (a builder's log, with the
    derivation), ``post-build-hook``, or ``tool`` (the wrapped tool's own text)."""

    text: str
    source: Literal["build", "post-build-hook", "tool"] = "tool"
    drv_path: str | None = None
    name: str | None = None


class Prompt(Event, tag="prompt", kw_only=True):
    """An unfinished line the tool has been waiting on (a sudo password prompt)."""

    text: str


class Message(Event, tag="message", kw_only=True):
    """A nix message that is neither an error nor part of another event."""

    level: str
    text: str


class ErrorEvent(Event, tag="error", kw_only=True):
    """A structured error.  ``kind`` is one of ``ERROR_KINDS``; ``rootCause`` is false
    for consequences (a dependent that could not be built, a summary line)."""

    kind: str
    message: str
    root_cause: bool = True
    derivation: str | None = None
    drv_path: str | None = None
    exit_code: int | None = None
    phase: str | None = None
    log_tail: list[str] = []
    file: str | None = None
    line: int | None = None
    column: int | None = None
    trace: list[str] = []
    units: list[str] = []
    paths: list[str] = []
    specified: str | None = None
    got: str | None = None
    detail: str | None = None
    hint: str | None = None


class ActivityStarted(Event, tag="activity.started", kw_only=True):
    """A nix activity without a more specific event (evaluation, queries, hooks, or an
    activity type this version does not know, named ``type-N``)."""

    id: int
    activity: str
    text: str = ""
    level: int = 0
    fields: list[Any] = []
    parent: int | None = None
    """The id of the activity nix started this one under (Nix >= 2.18, Lix), which may
    be one without an event of its own (a build, the realisation); null: a root."""


class ActivityStopped(Event, tag="activity.stopped", kw_only=True):
    id: int
    activity: str


class Activation(Event, tag="activation", kw_only=True):
    """A step of activating the new configuration (switch-to-configuration, Home
    Manager).  ``units`` lists the units named by the step."""

    step: str
    text: str
    units: list[str] = []


class UnitFailed(Event, tag="unit.failed", kw_only=True):
    unit: str
    scope: Literal["system", "user"] = "system"
    text: str = ""


class NixUnknown(Event, tag="nix.unknown", kw_only=True):
    """An internal-json message this version cannot interpret, kept whole."""

    data: Any


AnyEvent = (
    BuildStarted
    | BuildFinished
    | Plan
    | DerivationStarted
    | Phase
    | DerivationFinished
    | DerivationFailed
    | DerivationAborted
    | DownloadStarted
    | DownloadFinished
    | UploadStarted
    | UploadFinished
    | Progress
    | Expected
    | LogLine
    | Prompt
    | Message
    | ErrorEvent
    | ActivityStarted
    | ActivityStopped
    | Activation
    | UnitFailed
    | NixUnknown
)

ALL_EVENT_TYPES: Final[tuple[type[Event], ...]] = AnyEvent.__args__

ERROR_KINDS: Final = (
    "build-failure",
    "dependency-failure",
    "eval-error",
    "assertion",
    "option-missing",
    "attribute-missing",
    "infinite-recursion",
    "hash-mismatch",
    "download",
    "activation-unit-failed",
    "home-manager-clobber",
    "out-of-space",
    "permission",
    "timeout",
    "other",
)


def type_name(cls: type[Event]) -> str:
    """The wire name (``type``) of an event class."""
    tag = cls.__struct_config__.tag
    assert isinstance(tag, str)
    return tag


def decoder() -> msgspec.json.Decoder[AnyEvent]:
    """A reusable decoder for NDJSON event lines (reuse it: it is much faster)."""
    return msgspec.json.Decoder(AnyEvent)
