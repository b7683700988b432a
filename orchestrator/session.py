"""One wrapped build, wired: child under a PTY -> bytes -> events -> sinks.

Everything runs in one anyio task group (trio backend): the child's output, the user's
keystrokes, and signals.  The build's exit
code is the child's; nothing the wrapper does (a full disk, a closed pipe, a parser
bug) changes it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import stat
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import anyio
import anyio.lowlevel

from orchestrator import buildfiles
from orchestrator.capture import JsonLogCapture
from orchestrator.invocation import Capture, Invocation, Request
from orchestrator.nom_relay import NomRelay
from orchestrator.pty import ChildExit, PtyChild, raw_input, terminal_size
from parsers.clock import Clock, SystemClock
from parsers.events import Activation, BuildFinished, BuildStarted, ErrorEvent, Event, UnitFailed
from parsers.internal_json import PREFIX
from parsers.stream import LogStream
from records.buildtimes import BUILD_TIMES_JSON, BuildTimes
from records.files import describe, write_all
from records.schema import ClosureChange, LastBuild
from sinks.base import Handlers, Sink, SinkSet, without_log_lines
from sinks.eta import Eta
from sinks.rawlog import RawLog
from sinks.record import BuildRecord, generation

# A partial line this long unchanged is shown as a prompt (sudo's password prompt).
PROMPT_AFTER_S = 0.15
# Quiet output: this often the sinks get a tick (the live console's timers move).
IDLE_TICK_S = 0.1
# After the child exits, output still arriving (a grandchild holding the terminal) is
# read until it has been quiet this long.
DRAIN_QUIET_S = 0.25
# The wrapper's exit code when activation failed but the tool exited 0 (nh <= 4.1 drops
# switch-to-configuration's status): what nixos-rebuild exits with then.
EXIT_ACTIVATION_FAILED = 4
CTRL_C = b"\x03"
# What a full or read-only disk makes every write in the log directory say.
_STORAGE_FULL = tuple(os.strerror(e) for e in (errno.ENOSPC, errno.EDQUOT, errno.EROFS))
VEOF = b"\x04"


@dataclass
class Outcome:
    exit_code: int
    record: LastBuild


class BuildSession:
    def __init__(self, request: Request, invocation: Invocation, *,
                 env: Mapping[str, str] | None = None, clock: Clock | None = None,
                 stdin_fd: int = 0, stdout_fd: int = 1, stderr: TextIO | None = None,
                 interactive: bool | None = None,
                 console_factory: Callable[[BuildSession], Sink | None] | None = None) -> None:
        self.request = request
        self.invocation = invocation
        self.env = dict(os.environ if env is None else env)
        self.clock = clock or SystemClock()
        self.stdin_fd = stdin_fd
        self.stdout_fd = stdout_fd
        self.stderr = stderr or sys.stderr
        self.interactive = (os.isatty(2) if interactive is None else interactive)
        self._console_factory = console_factory
        self.stream = LogStream(self.clock, log_lines=request.log_lines)
        self.record = BuildRecord()
        self.files: buildfiles.BuildFiles | None = None
        self.raw_log: RawLog | None = None
        self._relay: NomRelay | None = None
        self._problems: set[str] = set()
        self._parser_broken = False
        self._interrupts = 0
        self._user_interrupted = False
        self._sinks: SinkSet | None = None
        self._capture: JsonLogCapture | None = None
        self._tty_at_line_start = True   # the raw log's last terminal byte ended a line
        self._structured_pending: list[bytes] = []
        self._activated = False          # an activation step was seen
        self._activation_failed = False  # ... and then a unit or the activation failed
        # Whether activation failed, whatever the tool's exit code (nh 3.5-4.1 exit 0).
        self._watch = (Handlers().on(Activation, self._on_activation)
                       .on(UnitFailed, self._on_unit_failed).on(ErrorEvent, self._on_error))
        self.build_times = BuildTimes()   # earlier builds' times (the log directory's)
        self._eta: Eta | None = Eta(self.build_times)
        self.closure: Any = None          # system.closure.ClosureDiff of the new generation
        from sinks.drv_graph import DrvGraph, drv_reader

        # Which derivation needs which, for the view's tree and the critical path.
        self.drv_graph = DrvGraph(read=drv_reader(self.env.get("NIXOS_BUILD_DRV_DIR")))

    # --- reporting --------------------------------------------------------------------

    def report(self, message: str) -> None:
        """Tell the user about a problem of ours (once per message; a full or
        read-only disk once in all: every file in the log directory fails alike)."""
        if message in self._problems:
            return
        self._problems.add(message)
        storage = next((why for why in _STORAGE_FULL if why in message), None)
        if storage is not None:
            if storage in self._problems:
                return
            self._problems.add(storage)
            where = self.files.directory if self.files else "the log directory"
            message = (f"{where}: {storage}: the build's log and records are incomplete "
                       f"({message}); the build goes on")
        with contextlib.suppress(Exception):
            self.stderr.write(f"nixos-build-wrapper: {message}\n")
            self.stderr.flush()

    # --- the whole run ----------------------------------------------------------------

    async def run(self) -> Outcome:
        inv = self.invocation
        for note in inv.notes:
            self.report(f"note: {note}")
        self.files = buildfiles.prepare(self.request, self.env, self.clock, self.report)
        self.raw_log = self._open_log(self.files.log_path if self.files else None, "raw log")
        if self.files:
            self.files.link_latest(self.report)
            from records import buildtimes

            self.build_times = buildtimes.load(self.files.directory / BUILD_TIMES_JSON)
            self._eta = Eta(self.build_times)
        started_wall = time.time()
        pre_generation = _safe(self.report, "generation probe", buildfiles.generation_snapshot,
                               self.env)
        if inv.real_nom:
            self._relay = NomRelay(inv.real_nom, report=self.report, env=self.env)
        sinks = self._sinks = self._build_sinks()
        # --quiet without --events: nothing reads log.line events, so none is made;
        # the plain console alone reads the tool's text, not a builder's output.
        read = sinks.log_lines_read()
        self.stream.keep_log_lines(self.request.log_lines and read != "none",
                                   build=read == "all")
        executable = buildfiles.resolve(inv.argv[0], self.env)
        capture, events_from = inv.capture, inv.events_from
        if executable is not None and capture == "json-log-path":
            capture, events_from = await self._open_capture()
        sinks.dispatch(self.stream.begin(BuildStarted(
            build_id=self.files.build_id if self.files else buildfiles.new_build_id(),
            source="wrapper",
            hostname=buildfiles.hostname(),
            user=buildfiles.user(self.env),
            target=self.request.target,
            action=self.request.action,
            tool=inv.tool,
            argv=list(inv.argv),
            flake=inv.flake,
            log_path=str(self.files.log_path) if self.files else None,
            events_from=events_from,
            capture=capture,
            nix_version=inv.nix_version,
            nix_flavour=inv.nix_flavour,
            build_host=self.request.build_host,
            target_host=self.request.target_host,
        )))
        if executable is None:
            self.report(f"{inv.argv[0]}: not found on PATH")
            exit = ChildExit(127, None)
        else:
            exit = await self._run_child([executable, *inv.argv[1:]], inv.child_env(
                self.env, self._capture.path if self._capture else None))
        if self._relay is not None:
            self._relay.close()
        self.record.pre_generation = generation(pre_generation)
        self.record.post_generation = generation(_safe(
            self.report, "generation probe", buildfiles.generation_snapshot, self.env))
        self.record.log_dir = str(self.files.directory) if self.files else None
        self.record.events_from = events_from
        self.record.tool_version = inv.tool_version
        exit_code = self._finish(exit)
        self._after_build(started_wall)
        if self.raw_log is not None:
            with contextlib.suppress(OSError):
                self.raw_log.close()
        sinks.close()
        if self.files is not None:
            self.files.close()
        return Outcome(exit_code, self.record.to_record())

    def _after_build(self, started_wall: float) -> None:
        """What needs the whole build: its critical path, the closure it changed, and
        this build's times kept for the next ETA.  None of it may cost the build."""
        from orchestrator.generation_diff import new_closure_diff
        from sinks.drv_graph import critical_path

        record = self.record

        def critical() -> None:
            built = {d.drv_path: d.duration_ms or 0 for d in record.built}
            if built:
                graph = self.drv_graph
                names = {d.drv_path: d.name for d in record.built}
                length, chain = critical_path(graph.needs(built), built)
                record.critical_path = (length, [names[p] for p in chain])

        _safe(self.report, "critical path", critical)
        change = _safe(self.report, "closure diff", lambda: new_closure_diff(
            self.request.target, self.request.action, record.pre_generation,
            record.post_generation, self.env, started=started_wall))
        if change is not None:
            import msgspec

            self.closure = change
            record.closure_diff = msgspec.convert(msgspec.to_builtins(change), ClosureChange)
        if self.files is not None and record.finished is not None:
            from records import buildtimes

            when = record.finished.ts or ""
            _safe(self.report, "build times", buildtimes.save,
                  self.files.directory / BUILD_TIMES_JSON, record.build_times(), when)

    def _open_log(self, path: Path | None, name: str) -> RawLog | None:
        if path is None:
            return None
        try:
            return RawLog(path, name)
        except OSError as exc:
            self.report(f"{name} not written: {describe(exc)}")
            return None

    def _build_sinks(self) -> SinkSet:
        sinks: list[Sink] = [self.record]
        if self.files:
            from sinks.history import History
            from sinks.summary import LastBuildJson

            files = self.files
            sinks.append(LastBuildJson(files.last_build_json, self.record,
                                       link_log=lambda: files.link_latest(self.report)))
            sinks.append(History(self.files.history_json, self.record, self.report))
        if self.request.events == "ndjson":
            from sinks.ndjson import NdjsonSink

            sinks.append(NdjsonSink(self.stdout_fd))
        if self.request.result_files:
            from sinks.results import ResultFiles, parse_result_file

            sinks.append(ResultFiles([parse_result_file(f"{kind}:{path}")
                                      for kind, path in self.request.result_files], self.record))
        from orchestrator.fleet import fleet_sinks

        sinks.extend(fleet_sinks(self.request, self.env, self.record, self.report))
        ci = self._ci_console()
        if ci is not None:
            sinks.append(ci)
        elif not self.request.quiet and self._console_factory is not None:
            console = self._console_factory(self)
            if console is not None:
                sinks.append(console)
        return SinkSet(sinks, self.report)

    def _ci_console(self) -> Sink | None:
        """The CI renderer instead of a console, when --ci (or auto in a CI job) asks."""
        from sinks.ci import choose

        kind = None if self.request.quiet else choose(self.request.ci, self.request.console,
                                                      self.env)
        if kind is None:
            return None
        from orchestrator.ci_annotate import annotator
        from sinks.ci import CiRenderer, repository_root

        summary = self.env.get("GITHUB_STEP_SUMMARY") if kind == "github" else None
        return CiRenderer(self.stderr, kind, clock=self.clock,
                          repository=repository_root(kind, self.env),
                          tool_text=not self.invocation.tool_view,
                          log_dir=self.files.directory if self.files else None,
                          step_summary=Path(summary) if summary else None,
                          annotate=annotator(self.env) if kind == "buildkite" else None)

    # --- bytes in ---------------------------------------------------------------------

    def _on_activation(self, event: Activation) -> None:
        self._activated = True

    def _on_unit_failed(self, event: UnitFailed) -> None:
        if self._activated:
            self._activation_failed = True

    def _on_error(self, event: ErrorEvent) -> None:
        if self._activated and event.root_cause:
            self._activation_failed = True

    def _dispatch(self, events: Sequence[Event]) -> None:
        # The watch and the ETA read no log line (nearly all of a build's events).
        others = without_log_lines(events)
        self._watch(others)
        if self._eta is not None:
            try:  # the ETA is a nicety: a bug in it never costs the build
                self._eta.annotate(others, self.clock.monotonic_ms())
            except Exception as exc:
                self._eta = None
                self.report(f"ETA switched off: {describe(exc)}")
        if self._sinks is not None:
            self._sinks.dispatch(events, others)

    def _parse(self, feed: Callable[[bytes], list[Event]], data: bytes) -> None:
        """``data`` through the parser (``feed``: terminal bytes or a structured line)."""
        if self._parser_broken:
            return
        try:
            events = feed(data)
        except Exception as exc:  # a parser bug must never cost the build
            self._parser_broken = True
            self.report(f"parser stopped ({describe(exc)}); the raw log keeps everything")
            return
        self._dispatch(events)

    def _log_raw(self, data: bytes) -> None:
        if self.raw_log is not None:
            try:
                self.raw_log.write(data)
            except OSError as exc:
                self.raw_log = None
                self.report(f"raw log switched off: {describe(exc)}; the build goes on")

    def _on_structured(self, line: bytes) -> None:
        """A line of nix's stream from the json-log-path socket.  The raw log keeps it
        as ``@nix {…}`` between the terminal's lines, so a replay of the log sees what
        this run saw."""
        self._structured_pending.append(PREFIX + line + b"\n")
        if self._tty_at_line_start:
            self._flush_structured()
        self._parse(self.stream.feed_structured, line)

    def _flush_structured(self) -> None:
        if self._structured_pending:
            self._log_raw(b"".join(self._structured_pending))
            self._structured_pending.clear()

    def _on_tty(self, data: bytes) -> None:
        self._log_raw(data)
        self._tty_at_line_start = data.endswith(b"\n")
        if self._tty_at_line_start:
            self._flush_structured()
        if self._relay is not None:
            try:
                self._relay.feed(data)
            except OSError:
                self._relay = None
        elif self.invocation.tool_view:
            with contextlib.suppress(OSError):
                write_all(2, data)
        self._parse(self.stream.feed, data)

    # --- the child --------------------------------------------------------------------

    async def _open_capture(self) -> tuple[Capture, str]:
        """The json-log-path socket, listening before the tool starts (nix connects when
        its logger is set up).  If it cannot be opened, nix is told no path (so it prints
        no "error (ignored)") and the tool's text is parsed; build.started says so."""
        try:
            capture = JsonLogCapture(self._on_structured, self.report)
        except OSError as exc:
            self.report(f"json-log-path socket not opened: {describe(exc)}; the tool's text is parsed")
            return "text", "text"
        try:
            await capture.bind()
        except OSError as exc:
            await capture.close()
            self.report(f"json-log-path socket not opened: {describe(exc)}; the tool's text is parsed")
            return "text", "text"
        self._capture = capture
        return "json-log-path", "internal-json"

    async def _run_child(self, argv: list[str], env: dict[str, str]) -> ChildExit:
        capture = self._capture
        size = terminal_size() or _size_from_env(self.env)
        try:
            child = PtyChild.spawn(argv, env, size=size)
        except OSError as exc:
            if capture is not None:
                await capture.close()
            self.report(f"cannot start {argv[0]}: {describe(exc)}")
            return ChildExit(126 if isinstance(exc, PermissionError) else 127, None)
        exited = anyio.Event()
        use_raw = self.interactive and os.isatty(self.stdin_fd)
        with raw_input(self.stdin_fd) if use_raw else contextlib.nullcontext(False):
            async with anyio.create_task_group() as group:
                if capture is not None:
                    group.start_soon(capture.serve)
                group.start_soon(self._forward_signals, child)
                if _forwardable(self.stdin_fd):
                    group.start_soon(self._forward_input, child, os.isatty(self.stdin_fd))
                output_done = anyio.Event()
                group.start_soon(self._pump_output, child, exited, output_done)
                exit = await child.wait()
                exited.set()
                await output_done.wait()
                if capture is not None:
                    await capture.drain()
                group.cancel_scope.cancel()
        child.close()
        if capture is not None:
            await capture.close()
            if not self._tty_at_line_start and self._structured_pending:
                self._log_raw(b"\n")
            self._flush_structured()
        return exit

    async def _pump_output(self, child: PtyChild, exited: anyio.Event,
                           done: anyio.Event) -> None:
        try:
            while True:
                data = child.read()
                if data is None:
                    break
                if data:
                    self._on_tty(data)
                    # A checkpoint, not a pause: input and signals are served while
                    # output floods, and the tool never waits on a full terminal (a 1 ms
                    # pause after small reads, to let output pool, cost a real nix-build
                    # flood some 15% of its wall time and saved no CPU).
                    await anyio.lowlevel.checkpoint()
                    continue
                if exited.is_set():
                    with anyio.move_on_after(DRAIN_QUIET_S) as scope:
                        await anyio.wait_readable(child.master_fd)
                    if scope.cancelled_caught:
                        break
                    continue
                wait = PROMPT_AFTER_S if self.stream.has_partial() else IDLE_TICK_S
                with anyio.move_on_after(wait) as scope:
                    await anyio.wait_readable(child.master_fd)
                if scope.cancelled_caught:
                    if wait == PROMPT_AFTER_S and not self._parser_broken:
                        self._dispatch(self.stream.idle())
                    if self._sinks is not None:
                        self._sinks.tick()
        finally:
            done.set()

    async def _forward_input(self, child: PtyChild, is_tty: bool) -> None:
        while True:
            await anyio.wait_readable(self.stdin_fd)
            try:
                data = os.read(self.stdin_fd, 4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                return
            if not data:
                if not is_tty:
                    child.write(VEOF)  # no more input: a waiting prompt gets EOF
                return
            if CTRL_C in data:
                self._user_interrupted = True
            child.write(data)

    async def _forward_signals(self, child: PtyChild) -> None:
        wanted = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGWINCH)
        with anyio.open_signal_receiver(*wanted) as signals:
            async for signum in signals:
                if signum == signal.SIGWINCH:
                    size = terminal_size()
                    if size:
                        child.resize(size)
                    continue
                self._interrupts += 1
                # Third time: the user means it.
                child.send_signal(signal.SIGKILL if self._interrupts >= 3 else signum)

    # --- the end ----------------------------------------------------------------------

    def _finish(self, exit: ChildExit) -> int:
        """Close the stream; the wrapper's exit code."""
        interrupted = self._user_interrupted or self._interrupts > 0
        if not self._parser_broken:
            try:
                events = self.stream.end(exit.exit_code, signal=exit.signal,
                                         interrupted=interrupted)
                return self._dispatch_end(events, exit.exit_code)
            except Exception as exc:
                self.report(f"parser stopped at the end ({describe(exc)})")
        # The parser is broken: still close the stream with an honest build.finished.
        self._dispatch(self.stream.end_broken(exit.exit_code, signal=exit.signal,
                                              interrupted=interrupted))
        return exit.exit_code

    def _dispatch_end(self, events: list[Event], exit_code: int) -> int:
        """An activation failure is never a success, whatever the tool's exit code."""
        self._dispatch(events[:-1])
        finished = events[-1]
        if exit_code == 0 and self._activation_failed and isinstance(finished, BuildFinished):
            self.report(f"activation failed although {self.invocation.tool} exited 0: "
                        f"exit code {EXIT_ACTIVATION_FAILED}")
            finished.exit_code = EXIT_ACTIVATION_FAILED
            finished.success = False
            exit_code = EXIT_ACTIVATION_FAILED
        self._dispatch([finished])
        return exit_code



def _forwardable(fd: int) -> bool:
    """Only terminals, pipes and sockets can be waited on (not files, not /dev/null)."""
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    if os.isatty(fd):
        return True
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _size_from_env(env: Mapping[str, str]) -> tuple[int, int] | None:
    """``LINES`` x ``COLUMNS`` when both are sizes a terminal can have (the kernel's
    winsize holds 16-bit unsigned values: -1 or 70000 would not fit)."""
    try:
        size = int(env.get("LINES", "")), int(env.get("COLUMNS", ""))
    except ValueError:
        return None
    return size if all(1 <= n <= 0xFFFF for n in size) else None


def _safe(report: Callable[[str], None], what: str, fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception as exc:  # a probe must not stop the build
        report(f"{what} failed: {describe(exc)}")
        return None
