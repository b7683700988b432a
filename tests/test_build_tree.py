"""The dependency tree: .drv inputs read from real derivations, and the tree drawn
from them, collapsed to what is worth showing."""

from __future__ import annotations

import glob

from hypothesis import given
from hypothesis import strategies as st

from parsers.drvfile import input_derivations
from sinks.build_tree import roots_of, tree_lines

DRV = ('Derive([("out","/nix/store/wn1n-openssl-3.0.14","","")],'
       '[("/nix/store/k7v7-zlib-1.3.1.drv",["out"]),("/nix/store/aaaa-perl-5.drv",["out","man"])],'
       '[],"x86_64-linux","/bin/sh",["-c","echo \\"[(\\" ]"],[("name","openssl-3.0.14")])')


def test_inputs_of_a_derivation() -> None:
    assert input_derivations(DRV) == ["/nix/store/k7v7-zlib-1.3.1.drv",
                                      "/nix/store/aaaa-perl-5.drv"]
    assert input_derivations('Derive([("out","/nix/store/x-a","","")],[],[],"s","b",[],[])') == []
    dynamic = ('DrvWithVersion("xp-dyn-drv",[("out","/nix/store/x-a","","")],'
               '[("/nix/store/y-b.drv",(["out"],[]))],[],"s","b",[],[])')
    assert input_derivations(dynamic) == ["/nix/store/y-b.drv"]


def test_inputs_match_what_nix_recorded_for_real_derivations() -> None:
    # Any .drv the real nix wrote on this machine: its inputs are .drv store paths that
    # exist (the store keeps a derivation's inputs while it is valid).
    files = sorted(glob.glob("/nix/store/*.drv"))[:50]
    for path in files:
        with open(path) as f:
            for dep in input_derivations(f.read()):
                assert dep.startswith("/nix/store/") and dep.endswith(".drv")


@given(st.text(max_size=300))
def test_any_text_gives_a_list(text: str) -> None:
    assert isinstance(input_derivations("Derive(" + text), list)


NEEDS = {
    "system": ["etc", "openssl", "docs"],
    "etc": ["curl"],
    "curl": ["zlib", "openssl"],
    "openssl": ["zlib"],
    "docs": [],
    "zlib": [],
}


def test_only_branches_leading_to_running_builds_are_drawn() -> None:
    running = {"curl", "docs"}
    lines = tree_lines(roots_of(NEEDS, NEEDS), NEEDS, label=lambda n: n,
                       shown=running.__contains__, budget=20)
    assert lines == [
        "system",
        "├─ etc",
        "│  └─ curl",
        "└─ docs",
    ]


def test_a_shared_dependency_is_drawn_once() -> None:
    shown = {"zlib"}
    lines = tree_lines(["system"], NEEDS, label=lambda n: n, shown=shown.__contains__,
                       budget=20)
    assert sum(1 for line in lines if line.endswith("zlib")) == 1


def test_the_tree_fits_its_budget_and_counts_the_rest() -> None:
    needs = {"top": [f"dep{i}" for i in range(100)], **{f"dep{i}": [] for i in range(100)}}
    lines = tree_lines(["top"], needs, label=lambda n: n, shown=lambda n: n != "top", budget=10)
    assert len(lines) == 10
    assert lines[-1] == "… 92 more"  # top and 8 dependencies drawn, 92 not
