"""orchestrator/capture.py: the json-log-path listener, with real Unix sockets."""

from __future__ import annotations

import os
import stat

import anyio

from orchestrator.capture import JsonLogCapture


async def test_lines_of_each_connection_arrive_whole_and_the_directory_is_private():
    got: list[bytes] = []
    capture = JsonLogCapture(got.append)
    assert stat.S_IMODE(os.stat(capture.directory).st_mode) == 0o700
    await capture.bind()
    async with anyio.create_task_group() as group:
        group.start_soon(capture.serve)
        first = await anyio.connect_unix(capture.path)
        second = await anyio.connect_unix(capture.path)
        # Two nix processes at once, each cutting its lines anywhere.
        await first.send(b'{"action":"msg","level":3,')
        await second.send(b'{"action":"stop","id":2}\n{"action":"st')
        await first.send(b'"msg":"one"}\n\n')
        await second.send(b'op","id":3}')  # nix died mid-line: still a line
        await first.aclose()
        await second.aclose()
        await capture.drain()
        group.cancel_scope.cancel()
    assert sorted(got) == sorted([b'{"action":"msg","level":3,"msg":"one"}',
                                  b'{"action":"stop","id":2}', b'{"action":"stop","id":3}'])
    assert got.index(b'{"action":"stop","id":2}') < got.index(b'{"action":"stop","id":3}')
    assert (capture.connections, capture.lines) == (2, 3)
    await capture.close()
    assert not os.path.exists(capture.directory)


async def test_drain_returns_when_nobody_connected():
    capture = JsonLogCapture(lambda line: None)
    await capture.bind()
    with anyio.fail_after(5):
        await capture.drain()
    await capture.close()


async def test_a_long_line_in_many_pieces_arrives_whole_and_a_line_past_the_cap_is_cut(
        monkeypatch) -> None:
    import orchestrator.capture as capture_module

    monkeypatch.setattr(capture_module, "MAX_LINE", 1 << 20)
    got: list[bytes] = []
    capture = JsonLogCapture(got.append)
    await capture.bind()
    long_line = b'{"action":"result","fields":["' + b"x" * (600 << 10) + b'"]}'
    async with anyio.create_task_group() as group:
        group.start_soon(capture.serve)
        client = await anyio.connect_unix(capture.path)
        for i in range(0, len(long_line), 4096):
            await client.send(long_line[i:i + 4096])
        await client.send(b"\n" + b"y" * (3 << 20) + b"\nend")
        await client.aclose()
        await capture.drain()
        group.cancel_scope.cancel()
    await capture.close()
    assert got[0] == long_line
    # 3 MiB without a newline under a 1 MiB cap: cut into pieces, no byte lost.
    assert b"".join(got[1:-1]) == b"y" * (3 << 20) and all(len(p) <= (1 << 20) + 65536 for p in got[1:-1])
    assert got[-1] == b"end"


def test_a_socket_that_cannot_be_opened_means_text_and_build_started_says_so(tmp_path) -> None:
    """A TMPDIR so deep that no Unix socket fits under it (108 bytes): the build runs,
    nix is told no json-log-path, the tool's text is parsed, and the stream and the
    record say ``text`` rather than a capture that never happened."""
    from tests.conftest import run_wrapper, wrapper_env

    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    env = wrapper_env(tmp_path, FAKE_NIX_VERSION="nix (Nix) 2.34.8", TMPDIR=str(deep),
                      FAKE_ARGV_LOG=str(tmp_path / "argv.log"))
    run = run_wrapper(tmp_path, ["os", "build", "--no-nh", "--flake", "/etc/nixos#demo",
                                 "--events", "ndjson"], env=env)
    assert run.returncode == 0, run.stderr
    assert "json-log-path socket not opened" in run.stderr
    started = run.ndjson()[0]
    assert (started["capture"], started["eventsFrom"]) == ("text", "text")
    assert (run.last_build()["capture"], run.last_build()["eventsFrom"]) == ("text", "text")
    # The text still gives the build: every derivation, from the tool's own lines.
    assert len([e for e in run.ndjson() if e["type"] == "derivation.finished"]) == 5
