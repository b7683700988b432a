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
