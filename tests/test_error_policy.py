"""The error policy on plain findings: what is reported, as what, and when."""

from __future__ import annotations

from parsers.derivations import Tracker
from parsers.errors.finding import Finding
from parsers.errors.hints import hint_for
from parsers.errors.policy import EVIDENCE_WINDOW, ErrorPolicy, Strength
from parsers.events import ErrorEvent, Event

DRV = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-foo-1.0.drv"


def policy() -> tuple[ErrorPolicy, list[Event]]:
    out: list[Event] = []
    return ErrorPolicy(out, Tracker(out)), out


def reported(out: list[Event]) -> list[tuple[str, str]]:
    return [(e.kind, e.message) for e in out if isinstance(e, ErrorEvent)]


def test_an_error_is_committed_once_as_an_event_built_from_the_finding():
    p, out = policy()
    finding = Finding(kind="eval-error", message="error: undefined variable 'x'")
    p.error(finding)
    p.error(Finding(kind="eval-error", message="error: undefined variable 'x'"))
    assert reported(out) == [("eval-error", "error: undefined variable 'x'")]
    # The event is its own object: changing the draft afterwards changes nothing.
    finding.message = "changed"
    assert p.errors[0].message == "error: undefined variable 'x'"


def test_the_same_error_about_two_copies_of_a_source_is_one():
    p, out = policy()
    for h in ("02hyz62zfadcjf7gsni6vqv8iwk8x0wx", "ygd4k9vkx9v7d666qvn5dh6d3hz5wj8f"):
        p.error(Finding(kind="eval-error", message=f"error: path '/nix/store/{h}-source/a.nix' does not exist"))
    assert len(reported(out)) == 1


def test_summaries_and_substituters_wait_for_the_end_and_count_only_without_errors():
    p, out = policy()
    p.error(Finding(kind="build-failure", message="error: build of '/nix/store/x.drv' failed"))
    p.error(Finding(kind="download", message="error: unable to download 'https://c/x.narinfo': HTTP error 500"))
    assert reported(out) == []
    p.flush(None, lambda: False)
    # A hint-strength weak error (the substituter) comes before the first summary.
    assert [k for k, _ in reported(out)] == ["download"]


def test_weak_errors_are_dropped_when_the_build_succeeded_or_got_through():
    p, out = policy()
    p.weak(Finding(kind="other", message="Command 'nix' returned non-zero exit status 1."))
    p.flush(0, lambda: False)
    assert reported(out) == []
    p, out = policy()
    p.weak(Finding(kind="download", message="cache down"), Strength.SUBSTITUTER)
    p.flush(None, lambda: True)
    assert reported(out) == []


def test_a_clue_explains_a_generic_failure_within_the_window_only():
    p, out = policy()
    p.clue(Finding(kind="permission", message="Permission denied (publickey)."), lineno=10)
    p.found(Finding(kind="other", message="error: failed to start SSH connection"), lineno=12)
    assert reported(out) == [("permission", "Permission denied (publickey).")]
    assert p.errors[0].detail == "Permission denied (publickey).\nerror: failed to start SSH connection"

    p, out = policy()
    p.clue(Finding(kind="permission", message="Permission denied (publickey)."), lineno=10)
    p.found(Finding(kind="other", message="error: failed"), lineno=11 + EVIDENCE_WINDOW)
    assert [k for k, _ in reported(out)] == ["other"]
    p.end_of_text()
    p.flush(None, lambda: False)
    assert [k for k, _ in reported(out)] == ["other"]  # the stale clue stays weak


def test_clues_out_of_the_window_are_hints_at_the_end_in_order_and_never_rescanned():
    """A long log of clues (an activation's ``Job for … failed`` lines, say) keeps only
    the window for the next error to scan, and the clues nothing explained are
    reported, in order, when nothing else is; a unit clue an activation step took back
    is not."""
    p, out = policy()
    for n in range(0, 5000, 50):
        p.clue(Finding(kind="permission", message=f"Permission denied ({n})"), lineno=n)
    assert len(p._evidence) == 1   # the window, not the log
    p.clue(Finding(kind="activation-unit-failed", message="Job for a.service failed"), lineno=6000)
    p.clue(Finding(kind="out-of-space", message="No space left on device"), lineno=6001)
    p.clue(Finding(kind="permission", message="Permission denied (last)"), lineno=6100)
    p.activation_step()   # activation went on: the unit's failure did not end it
    p.end_of_text()
    p.flush(1, lambda: False)
    assert [m for _, m in reported(out)] == [f"Permission denied ({n})" for n in range(0, 5000, 50)] + [
        "No space left on device", "Permission denied (last)"]


def test_a_clue_that_explained_nothing_is_reported_if_nothing_else_is():
    p, out = policy()
    p.clue(Finding(kind="out-of-space", message="No space left on device"), lineno=1)
    p.end_of_text()
    p.flush(None, lambda: False)
    assert reported(out) == [("out-of-space", "No space left on device")]


def test_a_fetchers_words_are_the_message_of_its_builders_failure():
    p, out = policy()
    fetch = Finding(kind="download", message="error: cannot download src.tar.gz from any mirror")
    assert p.report(fetch, [fetch.message], lineno=1, building=False)
    build = Finding(kind="build-failure", message=f"error: Cannot build '{DRV}'.", drv_path=DRV,
                    derivation="foo-1.0", exit_code=1)
    p.found(build, lineno=2)
    assert reported(out) == [("download", "error: cannot download src.tar.gz from any mirror")]
    assert p.errors[0].derivation == "foo-1.0"


def test_a_builders_own_error_line_while_building_is_build_output():
    p, out = policy()
    line = "error: 'config_t' has no member named 'verbose'"
    assert not p.report(Finding(kind="other", message=line), [line], lineno=5, building=True)
    assert list(p.recent) == [line] and reported(out) == []


def test_fallbacks_count_once_per_name_and_only_when_no_error_names_them():
    p, out = policy()
    p.fallback(Finding(kind="build-failure", message="foo failed after 1s", derivation="foo"))
    p.fallback(Finding(kind="build-failure", message="foo failed after 2s", derivation="foo"))
    p.fallback(Finding(kind="build-failure", message="bar failed", derivation="bar"))
    p.error(Finding(kind="build-failure", message="error: builder for foo failed", derivation="foo"))
    p.flush(1, lambda: False)
    assert reported(out) == [("build-failure", "error: builder for foo failed"),
                             ("build-failure", "bar failed")]


def test_a_unit_job_failure_is_moot_when_activation_goes_on():
    p, out = policy()
    p.clue(Finding(kind="activation-unit-failed", message="Job for x.service failed.",
                   units=["x.service"]), lineno=1)
    p.activation_step()
    p.end_of_text()
    p.flush(None, lambda: True)
    assert reported(out) == []


def test_the_activation_scripts_summary_after_a_snippets_failure_is_weak():
    p, out = policy()
    p.activation_failure(Finding(kind="other", message="Activation script snippet 'x' failed (1)"), 1)
    p.activation_failure(Finding(kind="other", message="Failed to run activate script"), 2)
    p.flush(None, lambda: True)
    assert [m for _, m in reported(out)] == ["Activation script snippet 'x' failed (1)"]


def test_hints_only_say_what_the_log_says():
    assert hint_for(Finding(kind="hash-mismatch", message="m", specified="sha256-A", got="sha256-B",
                            derivation="src")) == (
        "replace the hash sha256-A by sha256-B in the file that sets it (for src)")
    assert hint_for(Finding(kind="hash-mismatch", message="m", specified="sha256-A")) is None
    assert "home-manager switch -b backup" in (hint_for(Finding(
        kind="home-manager-clobber", message="m", paths=["/home/a/.bashrc"])) or "")
    untracked = Finding(kind="eval-error", message="error: Path 'config/kitty' in the repository "
                        '"/home/b/cfg" is not tracked by Git.')
    assert hint_for(untracked) == 'git -C "/home/b/cfg" add "config/kitty" (a flake sees only files Git tracks)'
    missing = Finding(kind="eval-error", message="error: path '/nix/store/02hyz62zfadcjf7gsni6vqv8iwk8x0wx"
                      "-source/nvf.nix' does not exist")
    assert hint_for(missing) is None  # a clean tree: the file is not merely un-added
    assert (hint_for(missing, dirty_tree=True) or "").startswith("if nvf.nix is new: git add nvf.nix")
    renamed = Finding(kind="eval-error", message="error: x", detail="The option `a.b' defined in `/f.nix' "
                      "has been renamed to `a.c'.")
    assert hint_for(renamed) == "use a.c instead of a.b (the option was renamed)"
    assert hint_for(Finding(kind="eval-error", message="error: undefined variable 'x'")) is None
