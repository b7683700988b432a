"""nh's own reports that carry another program's output.

nh 4.3.1 and later run switch-to-configuration with both streams captured
(rust-subprocess 1.x ``capture()``); when activation fails they print its stderr inside
color-eyre's error chain (v4.3.1 crates/nh-core/src/command.rs:746,
``"{msg} (exit status {status:?})\\nstderr:\\n{stderr}"``), every continuation line
indented 6 spaces and empty lines left empty (indenter src/lib.rs:171-177)::

    Error:
       0: Activation (test) failed
       1: Activating configuration (exit status ExitStatus(Exited(4)))
          stderr:
          activating the configuration...
          warning: the following units failed: demo-web.service
    <blank>
    Location:
       crates/nh-nixos/src/nixos.rs:375

Those lines are the activation's own: the text parser reads them again, unindented,
so the failed units and their journal are found as when nh shows them.
"""

from __future__ import annotations

from typing import Final

CONTINUATION: Final = " " * 6


def captured_stderr(chain: list[str]) -> list[str]:
    """The program output quoted after ``stderr:`` in an nh error chain, unindented."""
    out: list[str] = []
    inside = False
    for line in chain[1:]:
        if not inside:
            inside = line.startswith(CONTINUATION) and line.strip() == "stderr:"
            continue
        if line.startswith(CONTINUATION):
            out.append(line[len(CONTINUATION):])
        elif not line.strip():
            out.append("")
        else:
            break
    while out and not out[-1].strip():
        out.pop()
    return out
