"""Planning: which tool, which arguments, whose view — a pure function of the request,
the environment and what is installed."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from orchestrator.invocation import Request, UsageError, plan
from orchestrator.nom_relay import NomRelay, find_nom


def which_of(**found: str):
    return lambda name: found.get(name)


NH = which_of(nh="/run/current-system/sw/bin/nh")


def test_nixos_rebuild_gets_the_exact_stream_and_the_flake():
    inv = plan(Request("os", "switch", extra=("--show-trace",)), {"NH_FLAKE": "/f"}, which_of())
    # A normal user (the default host) activates through nixos-rebuild-ng's --sudo.
    assert inv.argv == ["nixos-rebuild", "switch", "--flake", "/f", "--sudo", "--log-format",
                        "internal-json", "--show-trace"]
    assert (inv.tool, inv.tool_view, inv.real_nom) == ("nixos-rebuild", False, None)


def test_home_manager_and_the_home_flake_variable_wins():
    inv = plan(Request("home", "build"), {"NH_HOME_FLAKE": "/h", "NH_FLAKE": "/f"}, which_of())
    assert inv.argv[:4] == ["home-manager", "build", "--flake", "/h"]


def test_nh_runs_without_nom_and_nix_gives_the_stream_after_double_dash():
    inv = plan(Request("os", "dry-build", flake="/cfg", extra=("-L",)), {}, NH)
    # nix's own dry run: `nh os build --dry` would build everything.
    assert inv.argv == ["nh", "os", "build", "/cfg", "--no-nom", "--", "--dry-run", "--log-format",
                        "internal-json", "-v", "-L"]
    assert inv.tool == "nh" and inv.flake == "/cfg" and inv.real_nom is None


def test_nh_gets_the_flake_from_the_environment_positionally():
    inv = plan(Request("os", "switch"), {"NH_OS_FLAKE": "/f"}, NH)
    assert inv.argv[3] == "/f" and inv.flake == "/f"
    # nh 4.0-4.2 would let the variable win over anything: it is not passed on.
    assert "NH_OS_FLAKE" not in inv.child_env({"NH_OS_FLAKE": "/f", "PATH": "/bin"})


def test_the_users_nom_is_kept_only_for_a_person_at_a_terminal():
    which = which_of(nh="/bin/nh", nom="/bin/nom")
    asked = Request("os", "switch", flake="/f")
    kept = plan(asked, {}, which, interactive=True)
    assert kept.real_nom == "/bin/nom" and kept.tool_view
    assert "internal-json" in kept.argv                    # we still read the exact stream
    assert plan(asked, {}, which, interactive=False).real_nom is None
    ours = plan(Request("os", "switch", flake="/f", console="ours"), {}, which, interactive=True)
    assert ours.real_nom is None and not ours.tool_view


def test_console_tool_shows_the_tools_own_output():
    inv = plan(Request("os", "switch", console="tool"), {}, which_of())
    assert "internal-json" not in inv.argv and inv.tool_view and inv.events_from == "text"
    inv = plan(Request("os", "switch", flake="/f", console="tool"), {}, NH)
    assert inv.argv == ["nh", "os", "switch", "/f", "--show-activation-logs", "--no-nom"]
    assert inv.tool_view


def test_a_log_format_of_the_users_own_is_respected():
    inv = plan(Request("os", "build", no_nh=True, extra=("--log-format", "bar")), {}, NH)
    assert inv.argv.count("--log-format") == 1 and inv.tool_view


@pytest.mark.parametrize("request_", [Request("home", "dry-build"), Request("os", "list"),
                                      Request("os", "switch", json=True, events="ndjson")])
def test_bad_requests(request_):
    with pytest.raises(UsageError):
        plan(request_, {}, which_of())


def test_nom_is_found_through_nhs_nixpkgs_wrapper(tmp_path: Path):
    nom_dir = tmp_path / "0123456789abcdfghijklmnpqrsvwxyz-nix-output-monitor-2.1.8" / "bin"
    nom_dir.mkdir(parents=True)
    (nom_dir / "nom").write_text("#!/bin/sh\n")
    (nom_dir / "nom").chmod(0o755)
    wrapper = tmp_path / "nh"
    # What makeWrapper writes for `--prefix PATH : <nom>/bin`.
    wrapper.write_text("#! /nix/store/x-bash-5.2/bin/bash -e\n"
                       f"PATH=${{PATH:+':'$PATH':'}}\nPATH=${{PATH/':''{nom_dir}'':'/':'}}\n"
                       f"export PATH='{nom_dir}'$PATH\nexec -a \"$0\" \"/x/.nh-wrapped\" \"$@\"\n")
    assert find_nom(which_of(nh=str(wrapper))) == str(nom_dir / "nom")
    assert find_nom(which_of(nh=str(wrapper), nom="/usr/bin/nom")) == "/usr/bin/nom"
    (tmp_path / "plain-nh").write_bytes(b"\x7fELF binary")
    assert find_nom(which_of(nh=str(tmp_path / "plain-nh"))) is None
    (tmp_path / "text-nh").write_bytes(b"just some text naming /nix/store/x-nix-output-monitor-2/bin")
    assert find_nom(which_of(nh=str(tmp_path / "text-nh"))) is None


def fake_nom(tmp_path: Path) -> tuple[str, Path]:
    saw = tmp_path / "nom-saw"
    nom = tmp_path / "nom"
    nom.write_text(f"#!{sys.executable}\nimport sys\n"
                   f"data = sys.stdin.buffer.read()\nopen({str(saw)!r}, 'ab').write(data + b'--EOF--\\n')\n"
                   "sys.stderr.write(f'[nom frame: {data.count(chr(10).encode())} lines]\\n')\n")
    nom.chmod(0o755)
    return str(nom), saw


def test_relay_hands_nom_the_stream_and_the_terminal_everything_else_in_order(tmp_path: Path):
    nom, saw = fake_nom(tmp_path)
    out = tmp_path / "terminal"
    with open(out, "wb") as terminal:
        relay = NomRelay(nom, out_fd=terminal.fileno())
        relay.feed(b"> Building NixOS configuration\n@nix {\"action\":\"msg\"")
        relay.feed(b",\"level\":3,\"msg\":\"a\"}\n@nix {\"action\":\"stop\",\"id\":1}\n")
        relay.feed(b"> Activating configuration\n[sudo] password for alice: ")
        assert out.read_bytes().endswith(b"[sudo] password for alice: ")   # shown at once
        relay.feed(b"\n@nix {\"action\":\"stop\",\"id\":2}\n")
        relay.close()
    assert out.read_bytes() == (b"> Building NixOS configuration\n[nom frame: 2 lines]\n"
                                b"> Activating configuration\n[sudo] password for alice: \n"
                                b"[nom frame: 1 lines]\n")
    assert saw.read_bytes() == (b'@nix {"action":"msg","level":3,"msg":"a"}\n@nix {"action":"stop","id":1}\n'
                                b"--EOF--\n" b'@nix {"action":"stop","id":2}\n--EOF--\n')


def test_a_nom_that_cannot_start_is_reported_and_the_rest_still_shows(tmp_path: Path):
    reports: list[str] = []
    out = tmp_path / "terminal"
    with open(out, "wb") as terminal:
        relay = NomRelay(str(tmp_path / "missing-nom"), out_fd=terminal.fileno(), report=reports.append)
        relay.feed(b"@nix {}\n> done\n")
        relay.close()
    assert out.read_bytes() == b"> done\n"
    assert len(reports) == 1 and "cannot start nom" in reports[0]
    assert os.path.exists(out)


def relay_through(tmp_path: Path, name: str, chunks: list[bytes]) -> tuple[bytes, bytes]:
    (tmp_path / name).mkdir()
    nom, saw = fake_nom(tmp_path / name)
    out = tmp_path / name / "terminal"
    with open(out, "wb") as terminal:
        relay = NomRelay(nom, out_fd=terminal.fileno())
        for chunk in chunks:
            relay.feed(chunk)
        relay.close()
    return out.read_bytes(), saw.read_bytes()


def test_the_relay_passes_the_same_bytes_whatever_the_reads(tmp_path: Path):
    # Lines are passed on as they come, never held until their newline: a long line or
    # a \r-only progress meter costs linear time.  Where reads end changes nothing.
    data = (b"> Building\n@nix {\"action\":\"stop\",\"id\":1}\n@ni\n@\n"
            + b"\r".join(b"[%d/9 built]" % i for i in range(3000)) + b"\n"
            + b"@nix {\"action\":\"msg\",\"msg\":\"" + b"x" * 200_000 + b"\"}\n"
            + b"@nix {\"action\":\"stop\",\"id\":2}\n> done\n@n")
    whole = relay_through(tmp_path, "whole", [data])
    assert whole[0].startswith(b"> Building\n[nom frame: 1 lines]\n@ni\n@\n[0/9 built]\r")
    assert whole[0].endswith(b"> done\n@n")
    assert whole[1].count(b"--EOF--") == 2 and len(whole[1]) > 200_000
    assert relay_through(tmp_path, "pieces", [data[i:i + 4096] for i in range(0, len(data), 4096)]) == whole
    small = data[:60] + data[-40:]
    assert (relay_through(tmp_path, "bytes", [small[i:i + 1] for i in range(len(small))])
            == relay_through(tmp_path, "small", [small]))
