"""One error for people, never less than nix shows: the same lines in the ``errors``
command and both consoles (``sinks/summary_text.error_lines``)."""

from __future__ import annotations

import io
import tempfile

import pyte

from parsers.clock import ManualClock
from parsers.events import ErrorEvent
from sinks.console_live import LiveConsole
from sinks.console_plain import PlainConsole
from sinks.summary_text import error_lines
from tests.conftest import parse, recorded


def test_an_evaluation_error_shows_nixs_code_frame_did_you_mean_and_trace_hint():
    events = parse(recorded("eval-error.plain"))
    (error,) = [e for e in events if isinstance(e, ErrorEvent)]
    lines = error_lines(error)
    assert lines[0] == "✗ attribute-missing: error: attribute 'enabel' missing"
    text = "\n".join(lines)
    assert "    10|   args = [" in text  # the code frame, and its caret under the column
    assert any(line.strip() == "|" + " " * 28 + "^" for line in lines)
    assert "Did you mean enable?" in text
    assert "(use '--show-trace' to show detailed location information)" in text
    assert "\x1b" not in text and "\x1b" not in (error.detail or "")


def test_a_unit_failure_shows_the_units_and_their_journal():
    error = ErrorEvent(kind="activation-unit-failed", message="warning: the following units failed: "
                       "web.service", units=["web.service"], log_tail=["web[1]: bind: address in use"])
    assert error_lines(error) == [
        "✗ activation-unit-failed: web.service failed",
        "  warning: the following units failed: web.service",
        "  journal:",
        "    > web[1]: bind: address in use",
        "  more: systemctl status web.service; journalctl -xeu web.service",
    ]


def test_a_long_report_is_cut_with_a_pointer_to_the_rest():
    error = ErrorEvent(kind="eval-error", message="error: x",
                       detail="\n".join(f"line {i}" for i in range(200)))
    lines = error_lines(error)
    assert lines[-1].startswith("    … 140 more lines")
    assert len(error_lines(error, verbose=True)) > 200


def test_the_hint_is_shown_as_the_fix():
    error = ErrorEvent(kind="home-manager-clobber", message="Existing file '/h/.bashrc' would be clobbered",
                       paths=["/h/.bashrc"], hint="move /h/.bashrc away")
    assert "  fix: move /h/.bashrc away" in error_lines(error)


def test_both_consoles_print_an_error_with_its_code_frame():
    events = parse(recorded("eval-error.plain"))
    out = io.StringIO()
    plain = PlainConsole(out)
    plain.handle(events)
    plain.close()
    assert "Did you mean enable?" in out.getvalue() and "^" in out.getvalue()

    raw = tempfile.TemporaryFile()  # noqa: SIM115 - read back below
    live = LiveConsole(raw.fileno(), clock=ManualClock(), size=lambda: (120, 40),
                       color_system="standard")
    live.handle(events)
    live.close()
    raw.seek(0)
    screen = pyte.Screen(120, 40)
    pyte.ByteStream(screen).feed(raw.read().replace(b"\n", b"\r\n"))
    shown = "\n".join(screen.display)
    assert "✗ attribute-missing: error: attribute 'enabel' missing" in shown
    assert "Did you mean enable?" in shown
