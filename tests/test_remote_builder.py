"""A real remote builder: Debian's sshd on loopback with a throwaway key, used by the
real nix as a ``--builders 'ssh://…'`` machine; the builder's name reaches
``derivation.started``, the record's counts per machine, and the summary.

Nix 2.8 single-user cannot build on ``ssh://root@127.0.0.1`` with the *same* store: the
local nix holds the output's lock while the remote ``nix-store --serve`` waits for it
(a deadlock, both polling).  So the remote side keeps its own store
(``?remote-store=local?root=…``, a chroot store, which nix builds in its sandbox; sshd's
``SetEnv NIX_CONFIG`` lets the host's /bin and /usr in), as a separate machine would.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_wrapper

SSHD = "/usr/sbin/sshd"
pytestmark = pytest.mark.realnix


@pytest.fixture
def builder(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """(the --builders value, the environment nix's ssh needs)."""
    if not os.access(SSHD, os.X_OK):  # pragma: no cover - .ci/run installs it
        pytest.fail("sshd is required (apt-get install openssh-server)", pytrace=False)
    ssh = tmp_path / "ssh"
    ssh.mkdir()
    for name in ("key", "hostkey"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(ssh / name)],
                       check=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (ssh / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {ssh / 'hostkey'}\n"
        f"AuthorizedKeysFile {ssh / 'key.pub'}\nPermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\nStrictModes no\nUsePAM no\n"
        f"PidFile {ssh / 'sshd.pid'}\n"
        'SetEnv PATH=/usr/bin:/bin "NIX_CONFIG=extra-sandbox-paths = /bin /usr /lib /lib64"\n')
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory
    log = (ssh / "sshd.log").open("wb")
    sshd = subprocess.Popen([SSHD, "-D", "-e", "-f", str(ssh / "sshd_config")], stderr=log)
    try:
        for _ in range(100):  # until it listens (no timing assertion: a bounded wait)
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        store = tmp_path / "remote-store"
        store.mkdir()
        machine = f"ssh://root@127.0.0.1?remote-store=local%3Froot%3D{store}"
        env = {"NIX_SSHOPTS": f"-p {port} -o StrictHostKeyChecking=no "
                              f"-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"}
        yield f"{machine} {os.uname().machine}-linux {ssh / 'key'} 1 1", env
    finally:
        sshd.terminate()
        sshd.wait(10)
        log.close()


def test_builds_on_a_real_remote_builder_are_attributed_to_it(
        tmp_path: Path, builder: tuple[str, dict[str, str]]) -> None:
    machines, ssh_env = builder
    run = run_wrapper(tmp_path, ["os", "build", "--no-nh", "--events", "ndjson"],
                      FAKE_LIVE_NIX="1", timeout=300, **ssh_env,
                      FAKE_NIX_ARGS=json.dumps(["--max-jobs", "0", "--builders", machines]))
    assert run.returncode == 0, run.stderr
    events = run.ndjson()
    started = [e for e in events if e["type"] == "derivation.started"]
    assert len(started) == 5
    remote = machines.split()[0]
    assert {e["machine"] for e in started} == {remote}
    assert {e["machine"] for e in events if e["type"] == "derivation.finished"} == {remote}
    record = run.last_build()
    assert record["machines"] == {remote: 5}
    assert all(s["machine"] == remote for s in record["slowest"])
    assert f"builders: {remote}: 5" in run.stderr
