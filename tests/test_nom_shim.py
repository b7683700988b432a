"""Our `nom`: hands nix's exact stream to the wrapper, and on to the real nom."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from tests.conftest import recorded


def run_shim(tmp_path: Path, data: bytes, real_nom: str = "") -> tuple[int, bytes]:
    fifo = tmp_path / "stream"
    os.mkfifo(fifo)
    received: list[bytes] = []

    def reader() -> None:
        with open(fifo, "rb") as f:
            received.append(f.read())

    thread = threading.Thread(target=reader)
    thread.start()
    env = dict(os.environ, NIXOS_BUILD_WRAPPER_NIX_FIFO=str(fifo),
               NIXOS_BUILD_WRAPPER_REAL_NOM=real_nom)
    proc = subprocess.run([sys.executable, "-m", "orchestrator.nom_shim", "--json"], input=data,
                          env=env, capture_output=True, check=False, timeout=30)
    thread.join(10)
    return proc.returncode, received[0]


def test_every_byte_reaches_the_wrapper_and_success_exits_0(tmp_path: Path):
    data = recorded("success.internal-json")
    code, received = run_shim(tmp_path, data)
    assert (code, received) == (0, data)


def test_a_reported_error_exits_1_like_nom(tmp_path: Path):
    code, received = run_shim(tmp_path, recorded("build-failure.internal-json"))
    assert code == 1 and received == recorded("build-failure.internal-json")


def test_the_real_nom_gets_the_same_bytes_and_its_exit_code_counts(tmp_path: Path):
    nom = tmp_path / "real-nom"
    copy = tmp_path / "nom-saw"
    nom.write_text(f"#!{sys.executable}\nimport sys\nopen({str(copy)!r}, 'wb').write(sys.stdin.buffer.read())\n"
                   "sys.exit(7)\n")
    nom.chmod(0o755)
    data = recorded("success.internal-json")
    code, received = run_shim(tmp_path, data, real_nom=str(nom))
    assert code == 7 and received == data and copy.read_bytes() == data
