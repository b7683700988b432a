"""nix-output-monitor's rendered view read back: pasted frames, raw terminal captures
with redraws, symbols of nom before 2.1, and nh's mix of nom and activation text."""

from __future__ import annotations

import pytest

from parsers.nomview import ERROR_TEXT, FAILED_NODE, FINISHED, SUMMARY, NomView
from parsers.replay import extract, extract_bytes
from tests.conftest import REAL_CORPUS

DRV = "/nix/store/1qyxd2bb309c96blvcr7xzbk8y5dn9la-build-fail.drv"

FAILED_FRAME = f"""\
┏━ 1 Errors:
┃ error: builder for '{DRV}' failed with exit code 1;
┃        last 1 log lines:
┃        > oops
┃        For full logs, run 'nix log {DRV}'.
┣━ Dependency Graph:
┃ ┌─ ⚠ build-fail failed with exit code 1 after ⏱ 1s in buildPhase
┃ ⏸ build-waiting waiting for 1 ⚠
┣━━━ Builds
┗━ ∑ ⏵ 1 │ ✔ 0 │ ⏸ 1 │ ⚠ Exited after 1 build failures at 14:12:31 after 2s
"""


def test_lines_of_the_view():
    view = NomView()
    assert view.line("┏━ 2 Errors: ")[0] != ERROR_TEXT
    assert view.line("┃ error: x") == (ERROR_TEXT, "error: x", ())
    assert view.line("┃        > y") == (ERROR_TEXT, "       > y", ())
    assert view.line("┣━ Dependency Graph:")[0] not in (ERROR_TEXT, FAILED_NODE)
    assert view.line("┃    ┌─ ⚠ hello-2.12 on ssh://b failed with hash mismatch after ⏱ 3m2s") == (
        FAILED_NODE, "hello-2.12", (None, "hash", None))
    assert view.line("┗━ ∑ ⚠ Exited with 2 errors reported by nix at 14:12:31 after 19m43s")[0] == SUMMARY
    assert view.line("┗━ ∑ ⏵ 0 │ ✔ 12 │ ⏸ 0 │ Finished at 12:00:00 after 3s")[0] == FINISHED


def test_failed_frame_gives_the_error_once():
    (error,) = extract_bytes(FAILED_FRAME.encode())
    assert (error.kind, error.derivation, error.exit_code, error.log_tail) == (
        "build-failure", "build-fail", 1, ["oops"])


def test_pre_2_1_symbols_and_a_tree_without_error_section():
    frame = ("┏━ Dependency Graph:\n"
             "┃ ┌─ ⚠\ufe0e build-fail failed with exit code 2 after ⏱\ufe0e 5s in installPhase\n"
             "┃ ⏳\ufe0e build-waiting\n"
             "┗━ ∑\ufe0e ⏵\ufe0e 0 │ ✔\ufe0e 83 │ ⏳\ufe0e 1 │ ⚠\ufe0e Exited after 1 build failures at "
             "14:12:31 after 19m43s\n")
    (error,) = extract_bytes(frame.encode())
    assert (error.kind, error.derivation, error.exit_code, error.phase) == (
        "build-failure", "build-fail", 2, "installPhase")


def test_redrawn_capture_with_cursor_movement_reads_the_error_once():
    esc = "\x1b[?2026h\x1b[2K\x1b[1F\x1b[2K\x1b[1F\x1b[2K"
    frames = "".join(f"\x1b[1m⏱ {s}s\x1b[0m\x1b[?2026l{esc}" for s in range(3))
    capture = ("\x1b[32m>\x1b[39m Building NixOS configuration\n" + frames
               + FAILED_FRAME.replace("\n", "\n" + esc, 3) + "\x1b[?25h\n")
    (error,) = extract_bytes(capture.encode())
    assert error.derivation == "build-fail"


def test_nh_mix_of_nom_and_activation_text():
    log = ("> Building NixOS configuration\n"
           "┏━ Dependency Graph:\n┃ ✔ nixos-system-host-25.05 ⏱ 3s\n"
           "┗━ ∑ ⏵ 0 │ ✔ 1 │ ⏸ 0 │ Finished at 12:08:26 after 40s\n"
           "> Activating configuration\nactivating the configuration...\n"
           "warning: the following units failed: web.service\n"
           "× web.service - Web\n     Active: failed (Result: exit-code)\n"
           "Mar 29 20:21:47 host web[1]: bind: Address already in use\n")
    (error,) = extract_bytes(log.encode())
    assert (error.kind, error.units, error.log_tail) == (
        "activation-unit-failed", ["web.service"], ["bind: Address already in use"])


def test_a_line_nom_cut_to_the_terminal_width_still_leaves_the_failed_derivation():
    # nom cuts lines to the terminal's width; its dependency graph still names the
    # failed derivation, its exit code and phase.
    cut = FAILED_FRAME.replace(f"'{DRV}' failed with exit code 1;", DRV[:40] + "…")
    errors, finished = extract([cut.encode()])
    failed = [e for e in errors if e.kind == "build-failure"]
    assert [(e.derivation, e.exit_code, e.phase) for e in failed] == [("build-fail", 1, "buildPhase")]
    assert finished.success is False


@pytest.mark.skipif(not REAL_CORPUS.is_dir(), reason="the real corpus is not beside the project")
def test_real_nom_captures_are_successes():
    for name in ("028.log", "040.log"):
        assert extract_bytes((REAL_CORPUS / name).read_bytes()) == []
