"""The debug bundle: everything an LLM (or a colleague) needs to fix the last failure,
in one bounded piece of text (``nixos-build-status debug-bundle``, docs/ci.md).

Three steps, each testable alone:

1. ``gather`` reads what is known: the record (``last-build.json``), the source lines
   around each evaluation error, failed units with their journals, recent journal
   errors, versions, the tail of the raw log -- into a ``DebugBundle``.
2. ``redact`` replaces secrets in every string of it (tokens and passwords in URLs,
   ``Authorization:`` headers, token shapes, private keys, values of variables named
   like ``*TOKEN*``/``*SECRET*``/``*PASSWORD*``) and counts what it replaced.
3. ``fit`` trims it to a byte budget, least important first (the raw log's tail, the
   journal, consequences, units' journals, source context, then the root causes' own
   log tails), and lists in ``cut`` what went.

The bundle renders as Markdown (``markdown``) or JSON (``encode``); the budget is
measured on the form that is printed.  Nothing read is ever executed.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import msgspec

from parsers.store import strip_ansi
from records.schema import LastBuild

BUNDLE_SCHEMA_VERSION = 1
DEFAULT_MAX_BYTES = 200_000
MIN_MAX_BYTES = 2_000
RAW_TAIL_BYTES = 256 * 1024
RAW_TAIL_LINES = 400
SOURCE_CONTEXT = 4
SOURCE_MAX_BYTES = 4 << 20
CAUSE_TAIL = 60
UNIT_JOURNAL = 20
REDACTED = "<redacted>"

Format = Literal["markdown", "json"]


# --- the bundle ---------------------------------------------------------------------------


class Build(msgspec.Struct, rename="camel", kw_only=True):
    build_id: str | None = None
    command: str | None = None
    target: str | None = None
    action: str | None = None
    tool: str | None = None
    flake: str | None = None
    hostname: str | None = None
    started: str | None = None
    duration_s: int | None = None
    exit_code: int | None = None
    success: bool | None = None
    interrupted: bool = False
    log_path: str | None = None


class Versions(msgspec.Struct, rename="camel", kw_only=True):
    nixos_build_status: str | None = None
    tool: str | None = None
    nix: str | None = None
    nixos: str | None = None
    nixpkgs_revision: str | None = None
    flake_revision: str | None = None


class Cause(msgspec.Struct, rename="camel", kw_only=True):
    kind: str
    message: str
    derivation: str | None = None
    drv_path: str | None = None
    phase: str | None = None
    exit_code: int | None = None
    file: str | None = None
    line: int | None = None
    column: int | None = None
    units: list[str] = []
    trace: list[str] = []
    log_tail: list[str] = []
    detail: str | None = None
    """Nix's own text of the error as printed (evaluation errors: the code and its
    "did you mean")."""
    hint: str | None = None


class SourceExcerpt(msgspec.Struct, rename="camel", kw_only=True):
    """Lines ``first_line``… of ``file``; the error is at ``line`` (``column``)."""

    file: str
    line: int
    column: int | None = None
    first_line: int
    lines: list[str]


class UnitReport(msgspec.Struct, rename="camel", kw_only=True):
    unit: str
    scope: str = "system"
    description: str = ""
    journal: list[str] = []


class GenerationChange(msgspec.Struct, rename="camel", kw_only=True):
    before: int | None = None
    after: int | None = None
    changed: bool = False
    running: int | None = None
    status: str | None = None


class Redactions(msgspec.Struct, rename="camel", kw_only=True):
    count: int = 0
    kinds: dict[str, int] = {}


class DebugBundle(msgspec.Struct, rename="camel", kw_only=True):
    """The whole bundle (``--json`` prints it as one object).  Example (shortened)::

        {"schemaVersion": 1, "generatedAt": "2026-12-02T08:30:00+00:00",
         "maxBytes": 200000, "build": {"command": "nixos-rebuild switch", "exitCode": 4,
         "success": false, ...}, "versions": {"nix": "nix (Nix) 2.8.0", ...},
         "rootCauses": [{"kind": "activation-unit-failed", "message": "warning: the
         following units failed: demo-web.service", "units": ["demo-web.service"],
         "logTail": [...], "hint": "systemctl status demo-web.service; ..."}],
         "consequences": [], "sources": [], "failedUnits": [{"unit":
         "demo-web.service", "journal": [...]}], "journalErrors": [...],
         "generation": {"before": 41, "after": 41, "changed": false},
         "logTail": [...], "redactions": {"count": 1, "kinds": {"token": 1}},
         "cut": ["raw log tail: kept the last 50 of 400 lines"]}
    """

    schema_version: int = BUNDLE_SCHEMA_VERSION
    generated_at: str = ""
    max_bytes: int = DEFAULT_MAX_BYTES
    build: Build = msgspec.field(default_factory=Build)
    versions: Versions = msgspec.field(default_factory=Versions)
    root_causes: list[Cause] = []
    consequences: list[str] = []
    sources: list[SourceExcerpt] = []
    failed_units: list[UnitReport] = []
    journal_errors: list[str] = []
    generation: GenerationChange | None = None
    log_tail: list[str] = []
    redactions: Redactions = msgspec.field(default_factory=Redactions)
    cut: list[str] = []


# --- 1. gathering -------------------------------------------------------------------------

EVAL_KINDS = frozenset({"eval-error", "assertion", "option-missing", "attribute-missing",
                        "infinite-recursion"})


def hint(cause: Cause) -> str | None:
    """What to run or look at next, by kind."""
    if cause.drv_path and cause.kind in ("build-failure", "out-of-space", "download", "timeout"):
        return f"full build log: nix log {cause.drv_path}"
    if cause.kind == "activation-unit-failed" and cause.units:
        unit = cause.units[0]
        return f"systemctl status {unit}; journalctl -xeu {unit}"
    if cause.kind == "home-manager-clobber":
        return ("move the existing file away, or let Home Manager back it up "
                "(home-manager switch -b backup / home-manager.backupFileExtension)")
    if cause.kind == "hash-mismatch":
        return "replace the fixed-output hash in the source with the 'got' value"
    if cause.kind in EVAL_KINDS:
        return "the error is in the Nix code at file:line; rerun with --show-trace for the call chain"
    if cause.kind == "out-of-space":
        return "free space: nix-collect-garbage -d (and old boot entries if /boot is full)"
    return None


def from_record(record: LastBuild) -> tuple[Build, list[Cause], list[str],
                                             GenerationChange | None]:
    """The record's part of the bundle (``last-build.json``, read and made compatible by
    records/read.py: the types are the record's own)."""
    build = Build(
        build_id=record.build_id, command=record.command, target=record.target,
        action=record.action, tool=record.tool, flake=record.flake_path,
        hostname=record.hostname, started=record.build_start,
        duration_s=record.build_duration, exit_code=record.exit_code,
        success=record.success, interrupted=record.interrupted,
        log_path=record.build_log_path)
    causes: list[Cause] = []
    consequences: list[str] = []
    for detail in record.error_details:
        message = strip_ansi(detail.message)
        if not detail.root_cause:
            consequences.append(message)
            continue
        cause = Cause(
            kind=detail.kind, message=message, derivation=detail.derivation,
            drv_path=detail.drv_path, phase=detail.phase, exit_code=detail.exit_code,
            file=detail.file, line=detail.line, column=detail.column,
            units=list(detail.units), trace=[strip_ansi(t) for t in detail.trace],
            log_tail=[strip_ansi(t) for t in detail.log_tail][-CAUSE_TAIL:],
            detail=strip_ansi(detail.detail or "") or None)
        cause.hint = hint(cause)
        causes.append(cause)
    if not causes and not record.error_details and record.errors:
        # an older record: errors as plain text only
        causes = [Cause(kind="other", message=strip_ansi(line))
                  for line in record.errors.splitlines() if line.strip()]
    return build, causes, consequences, _generation(record)


def _number(raw: str) -> int | None:
    """A generation's number as the record keeps it (``latestGenerationRaw``: "42")."""
    return int(raw) if raw.isdigit() else None


def _generation(record: LastBuild) -> GenerationChange | None:
    before, after = record.pre_generation, record.post_generation
    if before is None and after is None:
        return None
    old = _number(before.latest_generation_raw) if before is not None else None
    new = _number(after.latest_generation_raw) if after is not None else None
    if old is None and new is None:
        return None
    return GenerationChange(
        before=old, after=new, changed=old != new,
        running=_number(after.generation_raw) if after is not None else None,
        status=after.status if after is not None else None)


def read_source(path: str, line: int, column: int | None = None,
                context: int = SOURCE_CONTEXT) -> SourceExcerpt | None:
    """The lines around ``path:line`` when the file is a readable regular file of
    sane size (a store path, a checkout); None otherwise.  Only read, never run."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > SOURCE_MAX_BYTES:
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(SOURCE_MAX_BYTES)
    except OSError:
        return None
    finally:
        os.close(fd)
    lines = data.decode("utf-8", "replace").splitlines()
    if line < 1 or line > len(lines):
        return None
    first = max(1, line - context)
    return SourceExcerpt(file=path, line=line, column=column, first_line=first,
                         lines=lines[first - 1:line + context])


def raw_log_tail(path: Path, max_bytes: int = RAW_TAIL_BYTES,
                 max_lines: int = RAW_TAIL_LINES) -> list[str]:
    """The end of the raw log as text a person reads: nix's structured lines
    (``@nix {...}``) become their message or builder line, progress is dropped,
    escapes are removed.  Only the last ``max_bytes`` are read."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            handle.seek(max(0, size - max_bytes))
            data = handle.read(max_bytes)
    except OSError:
        return []
    lines = data.decode("utf-8", "replace").replace("\r\n", "\n").split("\n")
    if len(data) == max_bytes and lines:
        lines = lines[1:]  # the first one is cut
    out: list[str] = []
    for raw in lines:
        text = _readable(raw)
        if text is not None:
            out.append(text)
    return out[-max_lines:]


def _readable(raw: str) -> str | None:
    line = strip_ansi(raw).rstrip("\r")
    if "\r" in line:
        line = line.rsplit("\r", 1)[-1]  # what a terminal would show
    if not line.startswith("@nix {"):
        return line if line.strip() else None
    try:
        data = msgspec.json.decode(line[5:])
    except msgspec.DecodeError:
        return line
    if not isinstance(data, dict):
        return None
    action = data.get("action")
    if action == "msg" and isinstance(data.get("msg"), str):
        return strip_ansi(data["msg"])
    if action == "result" and data.get("type") == 101:  # a builder's log line
        fields = data.get("fields")
        if isinstance(fields, list) and fields and isinstance(fields[0], str):
            return strip_ansi(fields[0])
    if action == "start" and isinstance(data.get("text"), str) and data["text"]:
        return strip_ansi(data["text"])
    return None


@dataclass
class Probes:
    """What the running system says (each None/empty when it cannot be asked)."""

    failed_units: list[UnitReport]
    journal_errors: list[str]
    nix_version: str | None = None
    nixos_version: str | None = None
    nixpkgs_revision: str | None = None
    configuration_revision: str | None = None


def gather(record: LastBuild, directory: Path, probes: Probes, *,
           our_version: str | None, flake_revision: str | None = None,
           now: datetime | None = None) -> DebugBundle:
    """The bundle before redaction and trimming."""
    from records.logdir import LAST_BUILD_LOG

    build, causes, consequences, generation = from_record(record)
    sources = []
    for cause in causes:
        if cause.file and cause.line:
            excerpt = read_source(cause.file, cause.line, cause.column)
            if excerpt is not None:
                sources.append(excerpt)
    log = Path(build.log_path) if build.log_path and Path(build.log_path).exists() \
        else directory / LAST_BUILD_LOG
    # units named by the errors first, then any other failed unit of the system
    named = [u for c in causes for u in c.units]
    units = sorted(probes.failed_units, key=lambda u: (u.unit not in named, u.unit))
    return DebugBundle(
        generated_at=(now or datetime.now(UTC)).isoformat(timespec="seconds"),
        build=build,
        versions=Versions(nixos_build_status=our_version, tool=build.tool,
                          nix=probes.nix_version, nixos=probes.nixos_version,
                          nixpkgs_revision=probes.nixpkgs_revision,
                          flake_revision=probes.configuration_revision or flake_revision),
        root_causes=causes, consequences=consequences, sources=sources,
        failed_units=units, journal_errors=probes.journal_errors, generation=generation,
        log_tail=raw_log_tail(log))


# --- 2. redaction -------------------------------------------------------------------------

_NOT_DONE = rf"(?!{re.escape(REDACTED)})"
# (kind, pattern, replacement); applied in this order, each skipping what an earlier
# one replaced.
REDACTIONS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("private-key", re.compile(
        r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY-----.*?(?:-----END \1PRIVATE KEY-----|\Z)",
        re.S), rf"-----BEGIN \1PRIVATE KEY----- {REDACTED} -----END \1PRIVATE KEY-----"),
    ("authorization-header", re.compile(
        rf"(?im)\b((?:proxy-)?authorization|private-token|job-token|x-api-key|x-auth-token"
        rf"|cookie|set-cookie)(\s*:\s*){_NOT_DONE}[^\n]+"), rf"\1\2{REDACTED}"),
    ("url-credentials", re.compile(
        rf"(?i)\b([a-z][a-z0-9+.-]*://)([^/\s:@]*):{_NOT_DONE}([^/\s@]+)@"),
        rf"\1\2:{REDACTED}@"),
    ("nix-access-tokens", re.compile(
        rf"(?i)\b(access-tokens)(\s*=\s*|\s+){_NOT_DONE}(\S+=\S+(?:[ \t]+\S+=\S+)*)"),
        rf"\1\2{REDACTED}"),
    ("token", re.compile(
        r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}"
        r"|gl(?:cbt|dt|ft|imt|oas|rt|soat)-[A-Za-z0-9_-]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}"
        r"|AKIA[0-9A-Z]{16}|sk-[A-Za-z0-9_-]{20,}|npm_[A-Za-z0-9]{36})\b"), REDACTED),
    ("secret-variable", re.compile(
        rf"(?i)\b([A-Za-z0-9_.-]*(?:token|secret|password|passwd|api[_-]?key)[A-Za-z0-9_]*)"
        rf"([\"']?[ \t]*[=:][ \t]*){_NOT_DONE}(\"[^\"\n]*\"|'[^'\n]*'|[^\s,;]+)"),
        rf"\1\2{REDACTED}"),
)


def redact_text(text: str, counts: dict[str, int]) -> str:
    for kind, pattern, replacement in REDACTIONS:
        text, n = pattern.subn(replacement, text)
        if n:
            counts[kind] = counts.get(kind, 0) + n
    return text


def _redact_value(value: Any, counts: dict[str, int]) -> Any:
    if isinstance(value, str):
        return redact_text(value, counts)
    if isinstance(value, list):
        if value and all(isinstance(v, str) for v in value):
            # lines: redacted together, so a key block over several lines is found
            joined = redact_text("\n".join(value), counts)
            return joined.split("\n")
        return [_redact_value(v, counts) for v in value]
    if isinstance(value, dict):
        return {k: _redact_value(v, counts) for k, v in value.items()}
    return value


def redact(bundle: DebugBundle) -> DebugBundle:
    counts: dict[str, int] = dict(bundle.redactions.kinds)
    data = msgspec.to_builtins(bundle)
    data.pop("redactions", None)
    clean = msgspec.convert(_redact_value(data, counts), DebugBundle)
    clean.redactions = Redactions(count=sum(counts.values()), kinds=counts)
    return clean


# --- 3. rendering and trimming ------------------------------------------------------------


def encode(bundle: DebugBundle) -> bytes:
    return msgspec.json.encode(bundle) + b"\n"


def _fence(lines: Iterable[str]) -> list[str]:
    lines = list(lines)
    run = max((len(m) for line in lines for m in re.findall(r"`{3,}", line)), default=2)
    fence = "`" * (run + 1)
    return [fence, *lines, fence]


def markdown(bundle: DebugBundle) -> str:
    b, v = bundle.build, bundle.versions
    outcome = ("succeeded" if b.success else
               "was interrupted" if b.interrupted else
               f"failed (exit code {b.exit_code})" if b.exit_code is not None else "failed")
    out = [f"# Debug bundle: `{b.command or 'the last build'}` {outcome}", ""]
    facts = [("host", b.hostname), ("target", b.target), ("action", b.action),
             ("flake", b.flake), ("started", b.started),
             ("duration", f"{b.duration_s}s" if b.duration_s is not None else None),
             ("build id", b.build_id), ("log", b.log_path),
             ("nixos-build-status", v.nixos_build_status), ("tool", v.tool), ("nix", v.nix),
             ("NixOS", v.nixos), ("nixpkgs revision", v.nixpkgs_revision),
             ("flake revision", v.flake_revision)]
    out += [f"- {name}: {value}" for name, value in facts if value]
    out.append("")
    r = bundle.redactions
    if r.count:
        kinds = ", ".join(f"{k} ×{n}" for k, n in sorted(r.kinds.items()))
        out.append(f"> Redacted {r.count} secret{'s' * (r.count != 1)} ({kinds}): "
                   f"they read `{REDACTED}`.")
    else:
        out.append("> Redaction ran; no secrets were found.")
    if bundle.cut:
        out.append(f"> Trimmed to {bundle.max_bytes} bytes: " + "; ".join(bundle.cut) + ".")
    out.append("")
    out.append(f"## Root causes ({len(bundle.root_causes)})")
    out.append("")
    if not bundle.root_causes:
        out += ["No error was recognised in the build's output.", ""]
    for i, c in enumerate(bundle.root_causes, 1):
        out.append(f"### {i}. {c.kind}: {c.message}")
        out.append("")
        details = [("derivation", c.drv_path or c.derivation), ("phase", c.phase),
                   ("exit code", c.exit_code),
                   ("at", ":".join(str(p) for p in (c.file, c.line, c.column) if p is not None)
                    if c.file else None),
                   ("units", ", ".join(c.units) if c.units else None), ("next", c.hint)]
        out += [f"- {name}: {value}" for name, value in details if value not in (None, "")]
        if c.detail and c.detail != c.message:
            out += ["", "as nix printed it:", *_fence(c.detail.splitlines())]
        if c.trace:
            out += ["", "trace (innermost last):", *_fence(c.trace)]
        if c.log_tail:
            out += ["", f"last {len(c.log_tail)} log lines:", *_fence(c.log_tail)]
        out.append("")
    if bundle.sources:
        out += ["## Source at the evaluation errors", ""]
        for s in bundle.sources:
            width = len(str(s.first_line + len(s.lines)))
            numbered = [f"{'>' if n == s.line else ' '} {n:>{width}} | {text}"
                        for n, text in enumerate(s.lines, s.first_line)]
            col = f":{s.column}" if s.column else ""
            out += [f"{s.file}:{s.line}{col}", *_fence(numbered), ""]
    if bundle.failed_units:
        out += [f"## Failed units ({len(bundle.failed_units)})", ""]
        for u in bundle.failed_units:
            desc = f" ({u.description})" if u.description else ""
            out.append(f"- {u.unit} [{u.scope}]{desc}")
            if u.journal:
                out += _fence(u.journal)
        out.append("")
    if bundle.consequences:
        out += [f"## Consequences ({len(bundle.consequences)})", "",
                *(f"- {c}" for c in bundle.consequences), ""]
    if bundle.generation is not None:
        g = bundle.generation
        change = (f"{g.before} -> {g.after}" if g.changed else
                  f"unchanged ({g.after})")
        out += ["## Generation", "", f"- latest system generation: {change}",
                *([f"- running: {g.running} ({g.status})"] if g.running is not None else []), ""]
    if bundle.journal_errors:
        out += [f"## Recent journal errors ({len(bundle.journal_errors)})", "",
                *_fence(bundle.journal_errors), ""]
    if bundle.log_tail:
        out += [f"## Raw log, last {len(bundle.log_tail)} lines", "", *_fence(bundle.log_tail), ""]
    return "\n".join(out).rstrip("\n") + "\n"


def render(bundle: DebugBundle, form: Format) -> bytes:
    return encode(bundle) if form == "json" else markdown(bundle).encode("utf-8")


Step = Callable[[DebugBundle], str | None]


def _halve(items: list[Any], keep_end: bool = True) -> int:
    """Drop a quarter of ``items`` (the oldest when ``keep_end``); how many are left."""
    keep = len(items) - max(1, (len(items) + 3) // 4)  # a quarter at a time: a close fit
    if keep_end:
        del items[:len(items) - keep]
    else:
        del items[keep:]
    return keep


def _list_step(label: str, get: Callable[[DebugBundle], list[Any]], keep_end: bool = True,
               unit: str = "lines") -> Step:
    original: dict[int, int] = {}

    def step(bundle: DebugBundle) -> str | None:
        items = get(bundle)
        if not items:
            return None
        total = original.setdefault(id(items), len(items))
        kept = _halve(items, keep_end)
        which = "last" if keep_end else "first"
        return f"{label}: kept the {which} {kept} of {total} {unit}" if kept else \
            f"{label}: all {total} {unit} left out"

    return step


def _each(label: str, get: Callable[[DebugBundle], list[Any]],
          lines: Callable[[Any], list[str]]) -> Step:
    """Shorten the longest list of lines among ``get(bundle)``'s items."""
    def step(bundle: DebugBundle) -> str | None:
        items = [i for i in get(bundle) if lines(i)]
        if not items:
            return None
        longest = max(items, key=lambda i: len(lines(i)))
        _halve(lines(longest))
        return f"{label}: shortened"
    return step


def _drop_extra_causes(bundle: DebugBundle) -> str | None:
    if len(bundle.root_causes) <= 1:
        return None
    dropped = len(bundle.root_causes) - 1
    del bundle.root_causes[1:]
    return f"root causes: only the first kept ({dropped} more left out)"


STEPS: tuple[Callable[[], Step], ...] = (
    # least important first
    lambda: _list_step("raw log tail", lambda b: b.log_tail),
    lambda: _list_step("recent journal errors", lambda b: b.journal_errors, unit="entries"),
    lambda: _list_step("consequences", lambda b: b.consequences, keep_end=False,
                       unit="entries"),
    lambda: _each("failed units' journals", lambda b: b.failed_units, lambda u: u.journal),
    lambda: _list_step("failed units", lambda b: b.failed_units, keep_end=False,
                       unit="units"),
    lambda: _each("evaluation traces", lambda b: b.root_causes, lambda c: c.trace),
    lambda: _list_step("source excerpts", lambda b: b.sources, keep_end=False,
                       unit="excerpts"),
    lambda: _each("root causes' log tails", lambda b: b.root_causes[1:], lambda c: c.log_tail),
    lambda: _drop_extra_causes,
    lambda: _each("the root cause's log tail", lambda b: b.root_causes, lambda c: c.log_tail),
)


def fit(bundle: DebugBundle, max_bytes: int, form: Format = "markdown") -> bytes:
    """The bundle rendered within ``max_bytes``: sections are trimmed least important
    first, and what was cut is listed in the bundle itself."""
    bundle.max_bytes = max_bytes
    steps = [make() for make in STEPS]
    notes: dict[str, str] = {}
    data = render(bundle, form)
    while len(data) > max_bytes:
        for step in steps:
            note = step(bundle)
            if note is not None:
                label = note.split(":", 1)[0]
                notes[label] = note
                bundle.cut = list(notes.values())
                break
        else:
            return _hard_cut(bundle, max_bytes, form)
        data = render(bundle, form)
    return data


def _hard_cut(bundle: DebugBundle, max_bytes: int, form: Format) -> bytes:
    """Nothing left to trim and still too big (one enormous message): shorten the
    longest strings."""
    bundle.cut = [*bundle.cut, "long messages shortened"]
    for _ in range(64):
        data = render(bundle, form)
        if len(data) <= max_bytes:
            return data
        excess = len(data) - max_bytes
        for cause in bundle.root_causes:
            cause.detail = None
            if len(cause.message) > 200:
                cause.message = cause.message[:max(200, len(cause.message) - excess - 20)] + " …"
        if bundle.build.command and len(bundle.build.command) > 200:
            bundle.build.command = bundle.build.command[:200] + " …"
        if all(len(c.message) <= 203 for c in bundle.root_causes):
            break
    data = render(bundle, form)
    if len(data) <= max_bytes or form == "json":
        return data
    marker = "\n… (cut at the byte limit)\n".encode()
    return data[:max_bytes - len(marker)].decode("utf-8", "ignore").encode("utf-8") + marker
