"""The console for CI jobs: GitHub Actions, GitLab CI, Buildkite (docs/ci.md).

Not a terminal view: nothing is redrawn, every line stays in the job log.  One line
when a derivation starts; when it ends, one line that is also the header of a folded
group holding that derivation's log lines (kept aside while it runs, since nix builds
several at once and a CI log cannot fold interleaved lines).  When the job has printed
nothing for ``HEARTBEAT_MS`` a heartbeat names what is still running (CI systems kill
jobs that stay silent).  At the end: the summary, then the CI system's own way of
pointing at the root cause -- ``::error`` annotations and a Markdown job summary
(GitHub), an expanded section (GitLab), an expanded group and ``buildkite-agent
annotate`` (Buildkite).

Text from the build (builders' lines, the tool's messages) could contain the CI
system's own commands (a ``::add-mask::`` or ``::error::`` line, a GitLab section
marker, a Buildkite group header); each dialect neutralises them, so a build can only
ever print text.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, Literal, Protocol, TextIO

from parsers.clock import Clock
from parsers.errors.classify import key_line
from parsers.errors.order import ordered_errors
from parsers.events import (
    Activation,
    BuildFinished,
    BuildStarted,
    DerivationAborted,
    DerivationFailed,
    DerivationFinished,
    DerivationStarted,
    ErrorEvent,
    Event,
    LogLine,
    Message,
    Phase,
    Plan,
)
from parsers.store import strip_ansi
from sinks.summary_text import describe_error, format_duration, summary_lines

CiKind = Literal["github", "gitlab", "buildkite"]
CI_KINDS: tuple[CiKind, ...] = ("github", "gitlab", "buildkite")
# What --ci accepts: a system, auto (from the environment), or off.
CI_MODES = ("auto", *CI_KINDS, "off")
# The variable each CI system sets in every job (auto mode looks for them in this order).
CI_ENV: tuple[tuple[str, CiKind], ...] = (
    ("GITHUB_ACTIONS", "github"), ("GITLAB_CI", "gitlab"), ("BUILDKITE", "buildkite"))
# Where each system checks the repository out (file= of annotations is relative to it).
WORKSPACE_ENV: dict[CiKind, str] = {
    "github": "GITHUB_WORKSPACE", "gitlab": "CI_PROJECT_DIR",
    "buildkite": "BUILDKITE_BUILD_CHECKOUT_PATH"}

HEARTBEAT_MS = 30_000
# GitHub shows at most 10 error annotations of a step.
MAX_ANNOTATIONS = 10
# A derivation's log lines kept for its fold; older ones are dropped (and counted).
FOLD_LINES = 2_000
# Lines of a failure's log shown outside the (collapsed) fold and in the summary.
TAIL_SHOWN = 10
SUMMARY_TAIL = 30
HEARTBEAT_NAMES = 5
DETAIL_LINES = 30
EVAL_KINDS = frozenset({"eval-error", "assertion", "option-missing", "attribute-missing",
                        "infinite-recursion"})
# A flake's copy of the repository in the store: /nix/store/<hash>-source/<path>.
_STORE_SOURCE = re.compile(r"^/nix/store/[0-9a-df-np-sv-z]{32}-source/(.+)$")

Annotate = Callable[[str, str, str], None]
"""``annotate(markdown, style, context)``: hand the summary to the CI system (Buildkite)."""


def choose(mode: str | None, console: str, env: Mapping[str, str]) -> CiKind | None:
    """The CI dialect to render, if any.  ``auto`` (the default) looks at the
    environment, but only when the console is left to choose too: an explicit
    ``--console`` wins over a guess, never over an explicit ``--ci``."""
    for kind in CI_KINDS:
        if mode == kind:
            return kind
    if mode not in (None, "auto") or console != "auto":
        return None
    for variable, kind in CI_ENV:
        if env.get(variable, "").lower() not in ("", "false", "0"):
            return kind
    return None


def repository_root(kind: CiKind, env: Mapping[str, str], cwd: str | None = None) -> Path:
    """The checkout annotations' paths are relative to: the CI system's workspace,
    else the current directory."""
    workspace = env.get(WORKSPACE_ENV[kind])
    return Path(workspace) if workspace else Path(cwd or os.getcwd())


def repo_relative(path: str, root: Path) -> str | None:
    """``path`` relative to the repository when it is inside it.  A file of the
    flake's store copy (``/nix/store/<hash>-source/hosts/a.nix``) is the checkout's
    file when the checkout has it (nix evaluates flakes from that copy)."""
    match = _STORE_SOURCE.match(path)
    if match and (root / match.group(1)).is_file():
        return match.group(1)
    candidates = [(os.path.normpath(path), os.path.normpath(root))]
    with contextlib.suppress(OSError):
        candidates.append((os.path.realpath(path), os.path.realpath(root)))
    for file, base in candidates:
        try:
            relative = PurePosixPath(file).relative_to(base)
        except ValueError:
            continue
        if str(relative) not in ("", "."):
            return str(relative)
    return None


def unix_seconds(ts: str) -> int:
    """An event's RFC 3339 stamp as Unix seconds (GitLab's section markers)."""
    try:
        return int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0


# --- the dialects -------------------------------------------------------------------------


@dataclass(frozen=True)
class Fold:
    """A derivation's group: its header line (also the derivation's end line), its
    lines, whether it ended badly, and when it started and ended."""

    key: str
    name: str
    title: str
    lines: tuple[str, ...]
    failed: bool
    start_ts: str
    end_ts: str


@dataclass(frozen=True)
class Annotation:
    title: str
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None


class Dialect(Protocol):
    kind: CiKind

    def fold(self, fold: Fold) -> list[str]: ...

    def text(self, line: str) -> list[str]:
        """A line of the build's own text, made harmless."""
        ...

    def progress(self) -> list[str]:
        """Printed before a progress line (Buildkite: back out of the last fold)."""
        ...

    def errors(self, annotations: Sequence[Annotation], ts: str) -> list[str]: ...


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


class GitHub:
    """Workflow commands (docs.github.com, "Workflow commands for GitHub Actions"):
    ``::group::``/``::endgroup::`` and ``::error file=,line=,col=,title=::``.  The
    runner reads a command from any line that starts with ``::`` after leading blanks;
    the build's lines are wrapped in ``::stop-commands::TOKEN`` … ``::TOKEN::`` when one
    does, with a token derived from the lines themselves (so a build cannot guess it)."""

    kind: CiKind = "github"

    def fold(self, fold: Fold) -> list[str]:
        out = [f"::group::{_escape_data(fold.title)}", *self._guarded(fold.lines), "::endgroup::"]
        if fold.failed:  # groups start collapsed: the end of a failure is shown beside it
            out += self._guarded(tuple(f"  {fold.name}> {line}"
                                       for line in fold.lines[-TAIL_SHOWN:]))
        return out

    def text(self, line: str) -> list[str]:
        return self._guarded((line,))

    def progress(self) -> list[str]:
        return []

    def errors(self, annotations: Sequence[Annotation], ts: str) -> list[str]:
        out = []
        for a in annotations:
            props = []
            if a.file:
                props.append(f"file={_escape_property(a.file)}")
                if a.line is not None:
                    props.append(f"line={a.line}")
                    if a.column is not None:
                        props.append(f"col={a.column}")
            props.append(f"title={_escape_property(a.title)}")
            out.append(f"::error {','.join(props)}::{_escape_data(a.message)}")
        return out

    @staticmethod
    def _guarded(lines: tuple[str, ...]) -> list[str]:
        if not any(line.lstrip().startswith("::") for line in lines):
            return list(lines)
        token = "nbs-" + hashlib.sha256("\n".join(lines).encode()).hexdigest()[:24]
        return [f"::stop-commands::{token}", *lines, f"::{token}::"]


_GITLAB_MARKER = re.compile(r"\x1b\[0?K(?=section_(?:start|end):)")
_SECTION_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


class GitLab:
    """Collapsible sections (docs.gitlab.com, "Custom collapsible sections"):
    ``\\e[0Ksection_start:UNIX:NAME[collapsed=true]\\r\\e[0KHEADER`` …
    ``\\e[0Ksection_end:UNIX:NAME\\r\\e[0K``; names are letters, digits, ``_ . -``.
    Failures stay expanded.  The build's text cannot start a section: the
    ``\\e[0K`` that makes a marker is removed from it."""

    kind: CiKind = "gitlab"

    def fold(self, fold: Fold) -> list[str]:
        name = _SECTION_NAME.sub("_", fold.key)
        collapsed = "false" if fold.failed else "true"
        return [f"\x1b[0Ksection_start:{unix_seconds(fold.start_ts)}:{name}"
                f"[collapsed={collapsed}]\r\x1b[0K{fold.title}",
                *(self._clean(line) for line in fold.lines),
                f"\x1b[0Ksection_end:{unix_seconds(fold.end_ts)}:{name}\r\x1b[0K"]

    def text(self, line: str) -> list[str]:
        return [self._clean(line)]

    def progress(self) -> list[str]:
        return []

    def errors(self, annotations: Sequence[Annotation], ts: str) -> list[str]:
        if not annotations:
            return []
        stamp = unix_seconds(ts)
        out = [f"\x1b[0Ksection_start:{stamp}:nixos_build_errors[collapsed=false]\r\x1b[0K"
               f"\x1b[31;1mroot causes\x1b[0m"]
        for a in annotations:
            where = _location(a)
            out.append(f"\x1b[31;1m✘ {a.title}\x1b[0m" + (f"  ({where})" if where else ""))
            out += [f"  {self._clean(line)}" for line in a.message.splitlines()
                    if line != a.title]
        out.append(f"\x1b[0Ksection_end:{stamp}:nixos_build_errors\r\x1b[0K")
        return out

    @staticmethod
    def _clean(line: str) -> str:
        return _GITLAB_MARKER.sub("", line) if "section_" in line else line


_BUILDKITE_HEADER = re.compile(r"^(?:---|\+\+\+|~~~|\^\^\^ \+\+\+)(?:\s|$)")


class Buildkite:
    """Log groups (buildkite.com/docs, "Managing log output"): ``--- `` starts a
    collapsed group, ``+++ `` an expanded one; a group lasts until the next header, so
    after a derivation's fold the progress lines get a ``+++`` header of their own
    again (only when there is one to print).  A build's line that looks like a
    header is indented by one space."""

    kind: CiKind = "buildkite"

    def __init__(self, heading: str = "nixos-build-wrapper") -> None:
        self.heading = heading
        self._in_fold = False

    def fold(self, fold: Fold) -> list[str]:
        self._in_fold = True
        marker = "+++" if fold.failed else "---"
        return [f"{marker} {fold.title}", *(self._clean(line) for line in fold.lines)]

    def text(self, line: str) -> list[str]:
        return [*self.progress(), self._clean(line)]

    def progress(self) -> list[str]:
        if not self._in_fold:
            return []
        self._in_fold = False
        return [f"+++ {self.heading}"]

    def errors(self, annotations: Sequence[Annotation], ts: str) -> list[str]:
        if not annotations:
            return []
        self._in_fold = False
        out = ["+++ ✘ root causes"]
        for a in annotations:
            where = _location(a)
            out.append(f"✘ {a.title}" + (f"  ({where})" if where else ""))
            out += [f"  {self._clean(line)}" for line in a.message.splitlines()
                    if line != a.title]
        return out

    @staticmethod
    def _clean(line: str) -> str:
        return " " + line if _BUILDKITE_HEADER.match(line) else line


def _location(a: Annotation) -> str:
    if not a.file:
        return ""
    return ":".join(str(p) for p in (a.file, a.line, a.column) if p is not None)


DIALECTS: dict[CiKind, Callable[[], Dialect]] = {"github": GitHub, "gitlab": GitLab,
                                                 "buildkite": Buildkite}


# --- what the renderer remembers ----------------------------------------------------------


@dataclass
class _Running:
    name: str
    drv_path: str
    start_ts: str
    start_ms: int
    index: int
    phase: str | None = None
    lines: list[str] = field(default_factory=list)
    dropped: int = 0

    def add(self, line: str) -> None:
        self.lines.append(line)
        if len(self.lines) > FOLD_LINES * 2:  # amortised trimming keeps memory bounded
            cut = len(self.lines) - FOLD_LINES
            self.dropped += cut
            del self.lines[:cut]

    def kept(self) -> tuple[str, ...]:
        lines = self.lines[-FOLD_LINES:]
        dropped = self.dropped + len(self.lines) - len(lines)
        head = (f"… {dropped} earlier lines not shown (nix log {self.drv_path})",) if dropped else ()
        return (*head, *lines)


class CiRenderer:
    """The CI console sink.  ``stream``: the job log (the wrapper's stderr);
    ``repository``: the checkout annotations' paths are relative to;
    ``step_summary``: the file the job summary is appended to (GitHub's
    ``$GITHUB_STEP_SUMMARY``); ``annotate``: hands the summary to the CI system."""

    name = "ci console"

    def __init__(self, stream: TextIO, kind: CiKind, *, clock: Clock, repository: Path,
                 tool_text: bool = True, log_dir: Path | None = None,
                 step_summary: Path | None = None, annotate: Annotate | None = None) -> None:
        self.kind = kind
        self._out = stream
        self._clock = clock
        self._dialect = DIALECTS[kind]()
        self._repository = repository
        self._tool_text = tool_text
        self._log_dir = log_dir
        self._step_summary = step_summary
        self._annotate = annotate
        self._started: BuildStarted | None = None
        self._finished: BuildFinished | None = None
        self._errors: list[ErrorEvent] = []
        self._failures: dict[str, DerivationFailed] = {}
        self._running: dict[str, _Running] = {}
        self._count = 0
        self._activating = False
        self._last_output_ms = clock.monotonic_ms()
        self._start_ms = self._last_output_ms
        self._closed = False

    # --- events ------------------------------------------------------------------------

    def handle(self, events: Sequence[Event]) -> None:
        for event in events:
            handler = _HANDLERS.get(type(event))
            if handler is not None:
                handler(self, event)
        self._beat()
        self._out.flush()

    def tick(self) -> None:
        """The session's idle tick: time passes without output."""
        if self._beat():
            self._out.flush()

    def _emit(self, lines: Sequence[str]) -> None:
        for line in lines:
            self._out.write(line + "\n")
        if lines:
            self._last_output_ms = self._clock.monotonic_ms()

    def _say(self, line: str) -> None:
        """A line of ours (progress): plain, outside any fold."""
        self._emit([*self._dialect.progress(), line])

    def _started_build(self, event: BuildStarted) -> None:
        self._started = event
        if isinstance(self._dialect, Buildkite):
            self._dialect.heading = f"{event.tool or 'build'} {event.action or ''}".strip()
        self._start_ms = self._clock.monotonic_ms()

    def _plan(self, plan: Plan) -> None:
        verb = "would" if plan.dry_run else "will"
        if plan.builds:
            n = len(plan.builds)
            self._say(f"{verb} build {n} derivation{'s' * (n != 1)}")
        if plan.downloads:
            n = len(plan.downloads)
            size = f" ({plan.download_bytes / 2**20:.1f} MiB)" if plan.download_bytes else ""
            self._say(f"{verb} fetch {n} path{'s' * (n != 1)}{size}")

    def _drv_started(self, event: DerivationStarted) -> None:
        self._count += 1
        self._running[event.drv_path] = _Running(event.name, event.drv_path, event.ts,
                                                 self._clock.monotonic_ms(), self._count)
        machine = f" on {event.machine}" if event.machine else ""
        self._say(f"▶ building {event.name}{machine}")

    def _phase(self, event: Phase) -> None:
        running = self._running.get(event.drv_path)
        if running is not None:
            running.phase = event.phase

    def _log_line(self, event: LogLine) -> None:
        text = strip_ansi(event.text)
        if event.drv_path is not None:
            running = self._running.get(event.drv_path)
            if running is not None:
                running.add(text)
                return
        if event.source == "tool" and not self._tool_text:
            return
        self._emit(self._dialect.text(text))

    def _close_fold(self, drv_path: str, title: str, failed: bool, end_ts: str) -> None:
        running = self._running.pop(drv_path, None)
        if running is None:
            self._say(title)
            return
        lines = running.kept()
        if not lines:
            self._say(title)
            return
        key = f"drv-{running.index}-{running.name}"
        self._emit(self._dialect.fold(Fold(key, running.name, title, lines, failed, running.start_ts,
                                           end_ts)))

    def _drv_finished(self, event: DerivationFinished) -> None:
        self._close_fold(event.drv_path,
                         f"✔ built {event.name} in {format_duration(event.duration_ms)}",
                         False, event.ts)

    def _drv_failed(self, event: DerivationFailed) -> None:
        self._failures[event.drv_path] = event
        code = f"exit code {event.exit_code}" if event.exit_code is not None else event.reason
        phase = f" in {event.phase}" if event.phase else ""
        title = f"✘ failed {event.name} ({code}{phase}) after {format_duration(event.duration_ms)}"
        running = self._running.get(event.drv_path)
        if running is not None and not running.lines:
            for line in event.log_tail:  # the stream's tail, when no lines came live
                running.add(strip_ansi(line))
        self._close_fold(event.drv_path, title, True, event.ts)

    def _drv_aborted(self, event: DerivationAborted) -> None:
        phase = f" in {event.phase}" if event.phase else ""
        self._close_fold(event.drv_path, f"⊘ aborted {event.name}{phase} after "
                         f"{format_duration(event.duration_ms)}", False, event.ts)

    def _error(self, event: ErrorEvent) -> None:
        self._errors.append(event)
        if event.kind in EVAL_KINDS and event.detail:
            for line in strip_ansi(event.detail).splitlines():  # nix's text, "Did you mean"…
                self._emit([*self._dialect.progress(), *self._dialect.text(line)])
        elif event.kind != "build-failure" or not event.drv_path:
            self._say(strip_ansi(event.message))

    def _message(self, event: Message) -> None:
        pass  # nix's messages reach the log as the tool's lines

    def _activation(self, event: Activation) -> None:
        self._activating = True

    def _build_finished(self, event: BuildFinished) -> None:
        self._finished = event

    # --- heartbeat ---------------------------------------------------------------------

    def _beat(self) -> bool:
        now = self._clock.monotonic_ms()
        if self._finished is not None or now - self._last_output_ms < HEARTBEAT_MS:
            return False
        self._say(self.heartbeat(now))
        return True

    def heartbeat(self, now_ms: int) -> str:
        elapsed = format_duration(now_ms - self._start_ms)
        if not self._running:
            doing = "activating" if self._activating else (
                "evaluating, fetching or waiting for the tool" if not self._count
                else "no derivation building")
            return f"… still running after {elapsed}: {doing}"
        longest = sorted(self._running.values(), key=lambda r: r.start_ms)
        named = []
        for r in longest[:HEARTBEAT_NAMES]:
            parts = [p for p in (r.phase, format_duration(now_ms - r.start_ms)) if p]
            named.append(f"{r.name} ({', '.join(parts)})")
        more = len(longest) - HEARTBEAT_NAMES
        tail = f" and {more} more" if more > 0 else ""
        return f"… still running after {elapsed}: {', '.join(named)}{tail}"

    # --- the end -----------------------------------------------------------------------

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        ts = self._finished.ts if self._finished else self._clock.now_iso()
        for drv_path, running in list(self._running.items()):
            self._close_fold(drv_path, f"⊘ still building {running.name} at the end", False, ts)
        if self._finished is None:
            self._out.flush()
            return
        self._emit(self._dialect.progress())
        self._emit(summary_lines(self._finished, self._errors))
        if self._log_dir is not None:
            self._emit([f"  log:  {self._log_dir / 'last-build.log'}",
                        f"  json: {self._log_dir / 'last-build.json'}"])
        self._emit(self._dialect.errors(self.annotations(), ts))
        self._out.flush()
        summary = self.markdown()
        if self._step_summary is not None:
            with open(self._step_summary, "a", encoding="utf-8") as f:
                f.write(summary)
        if self._annotate is not None:
            subject = (self._started.flake or self._started.target or "build") \
                if self._started else "build"
            context = "nixos-build-" + re.sub(r"[^A-Za-z0-9_-]+", "-", subject).strip("-")
            self._annotate(summary, "success" if self._finished.success else "error", context)

    def annotations(self) -> list[Annotation]:
        """Root causes first, consequences after; at most ``MAX_ANNOTATIONS``, the last
        one saying how many were left out."""
        errors = ordered_errors(self._errors)
        if not errors and self._finished is not None and not self._finished.success:
            code = self._finished.exit_code
            why = "interrupted" if self._finished.interrupted else f"exit code {code}"
            tool = self._started.tool if self._started and self._started.tool else "the build"
            return [Annotation(f"{tool} failed ({why})",
                               "no error message was recognised; see the log above")]
        shown = errors if len(errors) <= MAX_ANNOTATIONS else errors[:MAX_ANNOTATIONS - 1]
        out = [self._annotation(e) for e in shown]
        if len(errors) > len(shown):
            rest = len(errors) - len(shown)
            out.append(Annotation(f"{rest} more errors",
                                  "all errors: nixos-build-status errors (or the job summary)"))
        return out

    def _annotation(self, error: ErrorEvent) -> Annotation:
        title = describe_error(error) if error.kind in ("build-failure", "hash-mismatch") \
            else _title(error)
        lines = [strip_ansi(error.message)]
        if error.kind in EVAL_KINDS and error.detail:
            lines = strip_ansi(error.detail).splitlines()[:DETAIL_LINES]
        if error.file and error.kind in EVAL_KINDS:
            relative = repo_relative(error.file, self._repository)
            if relative is not None:
                return Annotation(title, "\n".join(lines), relative, error.line, error.column)
            lines.append("at " + ":".join(str(p) for p in (error.file, error.line, error.column)
                                          if p is not None))
        tail = [strip_ansi(t) for t in error.log_tail[-5:]]
        if error.kind == "build-failure" and error.root_cause:
            key = key_line([strip_ansi(t) for t in error.log_tail])
            lines = [key] if key and key not in tail else []
            lines += tail
            if error.drv_path:
                lines.append(f"full log: nix log {error.drv_path}")
        elif tail:
            lines += tail
        return Annotation(title, "\n".join(lines))

    def markdown(self) -> str:
        """The job summary (GitHub's step summary, Buildkite's annotation)."""
        finished, started = self._finished, self._started
        assert finished is not None
        what = " ".join(p for p in (started.tool, started.action, started.flake)
                        if p) if started else "build"
        host = f" on {started.hostname}" if started and started.hostname else ""
        took = format_duration(finished.duration_ms)
        if finished.success:
            head = f"### ✔ `{what}` succeeded{host} in {took}"
        else:
            how = f"exit code {finished.exit_code}" if finished.exit_code is not None else "failed"
            if finished.interrupted:
                how += ", interrupted"
            head = f"### ✘ `{what}` failed{host} ({how}) after {took}"
        out = [head, "", "| built | failed | aborted | downloaded | errors | duration |",
               "|---:|---:|---:|---:|---:|---:|",
               f"| {finished.built} | {finished.failed} | {finished.aborted} | "
               f"{finished.downloaded} | {finished.errors} | {took} |", ""]
        errors = ordered_errors(self._errors)
        roots = [e for e in errors if e.root_cause] or errors
        for error in roots[:MAX_ANNOTATIONS]:
            out += self._markdown_cause(error)
        rest = len(errors) - len(roots[:MAX_ANNOTATIONS])
        if rest > 0:
            names = [e.derivation or strip_ansi(e.message) for e in errors
                     if e not in roots[:MAX_ANNOTATIONS]]
            out += [f"<details><summary>{rest} more (consequences)</summary>", "",
                    *(f"- {_md_code(n)}" for n in names[:50]), "", "</details>", ""]
        if started and started.argv:
            out += [f"command: {_md_code(' '.join(started.argv))}", ""]
        return "\n".join(out) + "\n"

    def _markdown_cause(self, error: ErrorEvent) -> list[str]:
        out = [f"**Root cause** ({error.kind}): {_md_text(describe_error(error))}", ""]
        facts = []
        if error.derivation:
            facts.append(f"- derivation: {_md_code(error.drv_path or error.derivation)}")
        if error.phase:
            facts.append(f"- phase: {_md_code(error.phase)}")
        if error.exit_code is not None:
            facts.append(f"- exit code: {error.exit_code}")
        if error.file:
            relative = repo_relative(error.file, self._repository) or error.file
            where = ":".join(str(p) for p in (relative, error.line, error.column) if p is not None)
            facts.append(f"- at: {_md_code(where)}")
        if error.units:
            facts.append(f"- units: {', '.join(_md_code(u) for u in error.units)}")
        out += [*facts, ""] if facts else []
        failure = self._failures.get(error.drv_path or "")
        tail = list(failure.log_tail if failure and failure.log_tail else error.log_tail)
        if tail:
            subject = error.derivation or error.kind
            out += [f"<details><summary>last {min(len(tail), SUMMARY_TAIL)} log lines of "
                    f"{_md_text(subject)}</summary>", "",
                    *_md_fence([strip_ansi(t) for t in tail[-SUMMARY_TAIL:]]), "", "</details>",
                    ""]
        return out


def _title(error: ErrorEvent) -> str:
    if error.kind == "dependency-failure" and error.derivation:
        return f"{error.derivation} not built: a dependency failed"
    if error.kind == "activation-unit-failed" and error.units:
        return f"{', '.join(error.units)} failed to start"
    if error.kind in EVAL_KINDS:
        return f"evaluation error ({error.kind})"
    return describe_error(error)


def _md_code(text: str) -> str:
    run = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * (run + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _md_text(text: str) -> str:
    return re.sub(r"([\\`*_<>\[\]|])", r"\\\1", strip_ansi(text))


def _md_fence(lines: list[str]) -> list[str]:
    run = max((len(m) for line in lines for m in re.findall(r"`{3,}", line)), default=2)
    fence = "`" * (run + 1)
    return [f"{fence}text", *lines, fence]


_HANDLERS: dict[type[Event], Callable[[CiRenderer, Any], None]] = {
    BuildStarted: CiRenderer._started_build,
    Plan: CiRenderer._plan,
    DerivationStarted: CiRenderer._drv_started,
    Phase: CiRenderer._phase,
    LogLine: CiRenderer._log_line,
    DerivationFinished: CiRenderer._drv_finished,
    DerivationFailed: CiRenderer._drv_failed,
    DerivationAborted: CiRenderer._drv_aborted,
    ErrorEvent: CiRenderer._error,
    Message: CiRenderer._message,
    Activation: CiRenderer._activation,
    BuildFinished: CiRenderer._build_finished,
}
