"""The consoles: the live view in a real terminal (screen asserted with pyte), rate
limits, resizes, prompts; plain lines without escape codes when not a terminal; nom's
own view kept under nh."""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

import pyte

from parsers.clock import ManualClock
from parsers.events import LogLine, Prompt
from sinks.console_live import LiveConsole
from sinks.console_state import ConsoleState
from tests.conftest import manifest, parse, recorded, run_wrapper, wrapper_env
from tests.terminal import Terminal


def live_console(clock: ManualClock, size: tuple[int, int] = (100, 30)):
    out = tempfile.TemporaryFile()  # noqa: SIM115 - the test reads it after the console wrote
    console = LiveConsole(out.fileno(), clock=clock, size=lambda: size, color_system="standard")
    return console, out


def rendered(out, size: tuple[int, int] = (100, 30)) -> str:
    out.seek(0)
    screen = pyte.Screen(*size)
    pyte.ByteStream(screen).feed(out.read().replace(b"\n", b"\r\n"))
    return "\n".join(line.rstrip() for line in screen.display).rstrip()


def test_state_follows_a_failing_build():
    state = ConsoleState()
    state.update(parse(recorded("build-failure.internal-json"),
                       exit_code=manifest()["build-failure.internal-json"]["exitCode"]), 0)
    assert (state.built, state.failed, state.aborted) == (1, 1, 1)
    assert state.running == {} and state.planned == 1
    assert [f.name for f in state.failures] == ["broken-tool-0.3.1"]
    assert state.finished is not None and state.finished.exit_code == 100


def test_block_shows_running_build_phase_and_tail_then_summary():
    clock = ManualClock()
    console, out = live_console(clock)
    events = parse(recorded("success.internal-json"), exit_code=0)
    cut = next(i for i, e in enumerate(events)
               if e.__struct_config__.tag == "phase" and e.name == "curl-8.9.1" and e.phase == "buildPhase")
    console.handle(events[: cut + 3])
    screen = rendered(out)
    assert "⏵ curl-8.9.1  buildPhase" in screen
    assert "│ build flags: -j2 SHELL=/bin/sh" in screen
    assert "✔ 2" in screen and "⏸ 2" in screen
    clock.advance(1000)
    console.handle(events[cut + 3:])
    console.close()
    screen = rendered(out)
    assert "⏵" not in screen                          # nothing shown running at the end
    assert "┗━ ✔ 5 │ ⏱" in screen                      # the final state stays on screen
    assert "✔ build succeeded" in screen
    assert "built: zlib-1.3.1, openssl-3.0.14, curl-8.9.1, etc, nixos-system-demo" in screen


def test_redraws_are_rate_limited_to_ten_a_second():
    clock = ManualClock()
    console, _ = live_console(clock)
    for i in range(500):                      # 500 batches within 0.5 s
        console.handle([LogLine(text=f"line {i}", source="build", drv_path="/nix/store/x-a.drv")])
        clock.advance(1)
    assert console.frames <= 6
    clock.advance(2000)
    console.tick()
    assert console.frames <= 7


def test_a_narrower_terminal_erases_the_rows_the_old_block_now_takes():
    clock = ManualClock()
    console, _ = live_console(clock, size=(100, 30))
    console._block = [95, 20, 60]               # widths drawn at 100 columns
    assert console._erase_block(40) == "\r\x1b[5A\x1b[J"  # 3 + 1 + 2 rows at 40 columns
    console._block = [10]
    assert console._erase_block(40) == "\r\x1b[J"


def test_a_prompt_is_shown_at_once_and_the_block_waits_for_the_answer():
    clock = ManualClock()
    console, out = live_console(clock)
    console.handle([LogLine(text="building the system configuration...")])
    clock.advance(200)
    console.handle([Prompt(text="[sudo] password for alice: ")])
    frames = console.frames
    out.seek(0)
    assert out.read().endswith(b"[sudo] password for alice: \x1b[?2026l")
    clock.advance(5000)
    console.tick()
    assert console.frames == frames             # nothing drawn over the prompt
    console.handle([LogLine(text="[sudo] password for alice: ")])
    clock.advance(200)
    console.tick()
    assert console.frames == frames + 1
    assert "[sudo] password for alice:" in rendered(out)


def test_live_view_in_a_real_terminal_mid_build_and_at_the_end(tmp_path: Path):
    env = wrapper_env(tmp_path, TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    term = Terminal(["demo", "--speed", "0.5"], env, size=(30, 100))
    screen = term.wait_for_display(r"⏵ openssl-3\.0\.14 +(unpackPhase|configurePhase|buildPhase)")
    assert "┏━ building NixOS" in screen
    assert "┗━ ⏵ 1 │ ✔ 1 │" in screen
    # The demo's derivations come with their .drv files and an earlier run's times:
    # the tree, each build's time before, and the time left.
    assert "┃ ⏸ nixos-system-demo-24.11.20241124\n┃ └─ ⏸ etc\n┃    └─ ⏸ curl-8.9.1\n" in screen
    assert re.search(r"┃       └─ ⏵ openssl-3\.0\.14 .* of ~0\.9s", screen)
    assert re.search(r"│ ⏳ ~\d+\.\ds left │", screen)
    assert term.finish(60) == 0
    final = term.display()
    assert "✔ build succeeded" in final and "5 built" in final
    # The live block is gone; the final state stays, once, above the summary.
    assert "⏵" not in final and final.count("┗━") == 1
    assert "┏━ NixOS: activated\n┗━ ✔ 5 │ ⏱" in final
    assert "demo: everything the wrapper wrote is in" in final
    assert "changed: openssl 3.0.13 → 3.0.14" in final and "added:   ripgrep 14.1.0" in final


def test_not_a_terminal_gives_plain_lines_without_escape_codes(tmp_path: Path):
    run = run_wrapper(tmp_path, ["os", "switch", "--no-nh"], FAKE_SCENARIO="build-failure")
    assert run.returncode == 100
    assert "\x1b" not in run.stderr
    lines = run.stderr.splitlines()
    assert "building libbase-1.0" in lines and "built libbase-1.0 in 0.0s" in lines
    assert any(line.startswith("failed broken-tool-0.3.1 (exit code 2 in buildPhase)") for line in lines)
    assert "aborted slow-docs-2.1" in lines


def test_no_color_in_a_terminal_is_plain_too(tmp_path: Path):
    env = wrapper_env(tmp_path, NO_COLOR="1", TERM="xterm-256color")
    term = Terminal(["os", "switch", "--no-nh", "--log-dir", str(tmp_path / "logs")], env)
    assert term.finish() == 0
    assert b"\x1b" not in term.screen and b"\xe2\x94\x8f" not in term.screen   # no ┏
    assert b"built zlib-1.3.1" in term.screen


def fake_real_nom(tmp_path: Path) -> dict[str, str]:
    """A stand-in for the user's nom: counts what it is handed and draws a line."""
    bin_dir = tmp_path / "nom-bin"
    bin_dir.mkdir()
    nom = bin_dir / "nom"
    nom.write_text(f"#!{sys.executable}\n"
                   "import sys\n"
                   "data = sys.stdin.buffer.read()\n"
                   "sys.stderr.write(f'NOM VIEW: {data.count(b\"@nix \")} messages\\n')\n")
    nom.chmod(0o755)
    env = wrapper_env(tmp_path, TERM="xterm-256color")
    env["PATH"] = f"{env['PATH']}{os.pathsep}{bin_dir}"
    return env


def test_nh_keeps_noms_own_view_while_we_read_the_exact_stream(tmp_path: Path):
    env = fake_real_nom(tmp_path)
    term = Terminal(["os", "switch", "--log-dir", str(tmp_path / "logs")], env)
    assert term.finish() == 0
    lines = recorded("success.internal-json").count(b"@nix ")
    assert f"NOM VIEW: {lines} messages".encode() in term.screen   # nom got every byte
    assert b"\xe2\x94\x8f\xe2\x94\x81" not in term.screen           # and our block stayed away
    import json
    record = json.loads((tmp_path / "logs" / "last-build.json").read_text())
    assert record["derivations"]["built"] == 5 and record["tool"] == "nh"


def test_console_ours_replaces_noms_view(tmp_path: Path):
    env = fake_real_nom(tmp_path)
    term = Terminal(["os", "switch", "--console", "ours", "--log-dir", str(tmp_path / "logs")], env)
    assert term.finish() == 0
    assert b"NOM VIEW" not in term.screen
    assert "✔ build succeeded" in term.display()


def test_the_block_fits_a_small_terminal():
    clock = ManualClock()
    console, out = live_console(clock, size=(60, 8))
    events = parse(b"".join(
        b'@nix {"action":"start","id":%d,"type":105,"level":3,"text":"","fields":["/nix/store/0123456789abcdfghijklmnpqrsvwxyz-pkg%d.drv","",1,1]}\n' % (i, i)
        for i in range(1, 30)))
    console.handle([e for e in events if e.__struct_config__.tag == "derivation.started"])
    assert len(console.state.running) == 29
    assert len(console._block) <= 7            # 8 rows: the block and the cursor's line
    assert "… and 26 more running" in rendered(out, (60, 8))
