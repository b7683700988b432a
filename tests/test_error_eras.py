"""Nix's error wording of every era, as the extractor reads it.  Real recordings where
a Nix runs here (2.8, 2.26, 2.34: tests/test_nix_eras.py); the rest written from the
wording in the sources (../shared/reference/nix-log-stream-by-version.md, 5.5), each
with the version and source file it comes from."""

from __future__ import annotations

from parsers.replay import extract_bytes
from tests.conftest import RECORDED

DRV = "/nix/store/8l8nlczszkhvi8rgq7rzgdkj6gcjxppf-broken-tool-0.3.1.drv"
TOP = "/nix/store/jn4i36j5j3qx62gzl9801yaycp063yp5-nixos-system-demo-24.11.20241124.drv"
SRC = "/nix/store/4v0jqz7ki9ykdk8c329x6wrck0wrc3l9-source-eddd3809.tar.gz.drv"


def kinds(data: bytes, exit_code: int | None = 1) -> list[tuple[str, str | None, bool]]:
    return [(e.kind, e.derivation, e.root_cause) for e in extract_bytes(data, exit_code=exit_code)]


def test_repeated_build_failed_due_to_failed_dependency_adds_nothing():
    """Nix 2.33-2.34 print ``error: Build failed due to failed dependency`` once per
    waiting goal (4ea32d0b03, src/libstore/build/derivation-goal.cc; deduplicated in
    2.35 by PR #16022) after the real reports, here those of the real 2.34."""
    real = (RECORDED / "nix-2.34" / "build-failure.nix-build-cli.log").read_bytes()
    data = real + b"error: Build failed due to failed dependency\n" * 6
    assert kinds(data) == [("build-failure", "broken-tool-0.3.1", True),
                           ("dependency-failure", "nixos-system-demo-24.11.20241124", False)]
    # Alone (the reports lost, e.g. cut by a terminal) they still explain the failure, once.
    (error,) = extract_bytes(b"error: Build failed due to failed dependency\n" * 6, exit_code=1)
    assert error.message == "error: Build failed due to failed dependency"


def test_nix_229_cannot_build_with_a_signal_and_no_log():
    """2.29+ (5a84237209, derivation-building-goal.cc): the reason on its own line."""
    data = (f"error: Cannot build '{DRV}'.\n       Reason: builder failed due to signal 9 (Killed).\n"
            f"       Output paths:\n         /nix/store/nrk0dn5kpv2lvrsh640qik09vf8mydv4-broken-tool-0.3.1\n").encode()
    (error,) = extract_bytes(data, exit_code=1)
    assert (error.kind, error.derivation, error.exit_code) == ("build-failure", "broken-tool-0.3.1", 137)


def test_nix_229_cannot_build_here():
    """b04962b33b: platform checks are BuildErrors with a ``Reason:``; nothing was built."""
    data = (f"error: Cannot build '{DRV}'.\n       Reason: required system or feature not available\n"
            f"       Required system: 'aarch64-linux' with features {{}}\n"
            f"       Current system: 'x86_64-linux' with features {{benchmark, big-parallel, kvm, nixos-test}}\n").encode()
    (error,) = extract_bytes(data, exit_code=1)
    assert (error.kind, error.drv_path) == ("other", DRV)


def test_lix_hash_mismatch_with_its_likely_url():
    """Lix 2.91+ (d92712673, lix/libstore/build/local-derivation-goal.cc): the URL first,
    the labels right-aligned, both paths."""
    data = (f"error: hash mismatch in fixed-output derivation '{SRC}':\n"
            "    likely URL: https://example.org/source-eddd3809.tar.gz\n"
            "     specified: sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
            "           got: sha256-vfuuPBJcqu/zcbTl1pTWEKlZhbkP/LoBNFK+rK+weMQ=\n"
            " expected path: /nix/store/m1bqz0b3y1f8y7a9l2kq2n0c5m9yq0xz-source-eddd3809.tar.gz\n"
            "      got path: /nix/store/7m9z8c0n1b2v3x4l5k6j7h8g9f0d1s2a-source-eddd3809.tar.gz\n").encode()
    (error,) = extract_bytes(data, exit_code=1)
    assert (error.kind, error.derivation) == ("hash-mismatch", "source-eddd3809.tar.gz")
    assert error.specified == "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    assert error.got == "sha256-vfuuPBJcqu/zcbTl1pTWEKlZhbkP/LoBNFK+rK+weMQ="


def test_lix_full_log_hint_with_a_tab_is_not_in_the_tail():
    data = (f"error: builder for '{DRV}' failed with exit code 2;\n       last 2 log lines:\n"
            "       > src/main.c:42:7: error: 'config_t' has no member named 'verbose'\n"
            "       > make: *** [Makefile:12: src/main.o] Error 1\n"
            f"       For full logs, run:\n       \tnix log {DRV}\n").encode()
    (error,) = extract_bytes(data, exit_code=1)
    assert error.log_tail == ["src/main.c:42:7: error: 'config_t' has no member named 'verbose'",
                              "make: *** [Makefile:12: src/main.o] Error 1"]


def test_nix_23_unprefixed_wording():
    """Nix 2.3 (src/libstore/build.cc): the log tail indented two spaces, ``cannot build
    derivation … couldn't be built``, ``wanted:`` for the hash."""
    data = (f"builder for '{DRV}' failed with exit code 2; last 2 log lines:\n"
            "  src/main.c:42:7: error: 'config_t' has no member named 'verbose'\n"
            "  make: *** [Makefile:12: src/main.o] Error 1\n"
            f"cannot build derivation '{TOP}': 1 dependencies couldn't be built\n"
            f"error: build of '{TOP}' failed\n").encode()
    errors = extract_bytes(data, exit_code=100)
    assert [(e.kind, e.derivation, e.root_cause) for e in errors] == [
        ("build-failure", "broken-tool-0.3.1", True),
        ("dependency-failure", "nixos-system-demo-24.11.20241124", False)]
    assert errors[0].exit_code == 2
    assert errors[0].log_tail[-1] == "make: *** [Makefile:12: src/main.o] Error 1"
    mismatch = (f"hash mismatch in fixed-output derivation '{SRC}':\n"
                "  wanted: sha256:0000000000000000000000000000000000000000000000000000\n"
                "  got:    sha256:1vbfy8mhr7l5fy2q4yvxkqxq2n5b4qkq0a3d1xrm3gm4rjlh0ml5\n").encode()
    (error,) = extract_bytes(mismatch, exit_code=100)
    assert (error.kind, error.specified) == ("hash-mismatch",
                                             "sha256:0000000000000000000000000000000000000000000000000000")
