"""Failed systemd units, system and ``--user``, from ``systemctl``.

One call per scope: ``systemctl --failed --output=json --plain --no-legend``.  systemd
246 and later answer JSON (``[{"unit", "load", "active", "sub", "description"}]``);
older ones ignore ``--output=json`` for unit lists and print the plain table, which is
parsed instead.  No systemd (containers), no user manager (root over SSH): the scope
is unknown, which is not the same as healthy and is not counted as failed either."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

from status.probes.tools import DEFAULT_TIMEOUT, ToolResult, ToolRun

Scope = Literal["system", "user"]
SCOPES: tuple[Scope, ...] = ("system", "user")
UNIT_JOURNAL_LINES = 5


class FailedUnit(NamedTuple):
    unit: str
    scope: Scope
    load: str = ""
    active: str = "failed"
    sub: str = "failed"
    description: str = ""
    journal: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"unit": self.unit, "scope": self.scope, "load": self.load,
                                "active": self.active, "sub": self.sub,
                                "description": self.description}
        if self.journal:
            data["journal"] = list(self.journal)
        return data


class ScopeUnits(NamedTuple):
    scope: Scope
    known: bool
    units: tuple[FailedUnit, ...] = ()
    reason: str = ""


class FailedUnits(NamedTuple):
    scopes: tuple[ScopeUnits, ...] = ()

    @property
    def units(self) -> list[FailedUnit]:
        return [u for s in self.scopes for u in s.units]

    @property
    def system_known(self) -> bool:
        return any(s.known for s in self.scopes if s.scope == "system")

    def scope(self, name: Scope) -> ScopeUnits | None:
        return next((s for s in self.scopes if s.scope == name), None)


def systemctl_argv(scope: Scope, other_user: str | None = None) -> list[str]:
    """``other_user``: ask that user's manager (under sudo, the user behind it, not
    root's own), through ``--machine=USER@`` (systemd 248 and later)."""
    user = ["--user"] if scope == "user" else []
    if user and other_user:
        user.append(f"--machine={other_user}@")
    return ["systemctl", *user, "--failed", "--output=json", "--plain", "--no-legend",
            "--no-pager"]


def start(scope: Scope, env: Mapping[str, str] | None = None,
          timeout: float = DEFAULT_TIMEOUT, other_user: str | None = None) -> ToolRun:
    return ToolRun(systemctl_argv(scope, other_user), timeout, env)


def parse(result: ToolResult, scope: Scope) -> ScopeUnits:
    if not result.ok:
        return ScopeUnits(scope, known=False, reason=result.why())
    text = result.stdout.strip()
    if text.startswith("["):
        try:
            rows = json.loads(text)
        except ValueError:
            rows = None
        if isinstance(rows, list):
            return ScopeUnits(scope, True, tuple(
                _from_json(row, scope) for row in rows
                if isinstance(row, dict) and isinstance(row.get("unit"), str)))
    return ScopeUnits(scope, True, tuple(
        unit for line in text.splitlines() if (unit := _from_table(line, scope)) is not None))


def _from_json(row: dict[str, Any], scope: Scope) -> FailedUnit:
    def text(key: str) -> str:
        value = row.get(key)
        return value if isinstance(value, str) else ""
    return FailedUnit(row["unit"], scope, text("load"), text("active") or "failed",
                      text("sub") or "failed", text("description"))


def _from_table(line: str, scope: Scope) -> FailedUnit | None:
    """``UNIT LOAD ACTIVE SUB DESCRIPTION…``, perhaps after a ``●``/``*`` marker
    (when --plain is not honoured)."""
    fields = line.split(None, 4)
    if fields and fields[0] in ("●", "*", "×"):
        fields = line.split(None, 5)[1:]
    if len(fields) < 4 or "." not in fields[0]:
        return None
    return FailedUnit(fields[0], scope, fields[1], fields[2], fields[3],
                      fields[4].strip() if len(fields) > 4 else "")


def journal_argv(unit: FailedUnit, lines: int = UNIT_JOURNAL_LINES) -> list[str]:
    select = ["--user-unit", unit.unit] if unit.scope == "user" else ["--unit", unit.unit]
    return ["journalctl", *select, "-n", str(lines), "-o", "cat", "--no-pager", "-q"]


def with_journal(units: list[FailedUnit], env: Mapping[str, str] | None = None,
                 timeout: float = DEFAULT_TIMEOUT) -> list[FailedUnit]:
    """Each unit with its last journal lines (for --verbose), all asked at once."""
    runs = [ToolRun(journal_argv(u), timeout, env) for u in units]
    out = []
    for unit, run in zip(units, runs, strict=True):
        result = run.result()
        lines = tuple(result.stdout.splitlines()[-UNIT_JOURNAL_LINES:]) if result.ok else ()
        out.append(FailedUnit(unit.unit, unit.scope, unit.load, unit.active, unit.sub,
                              unit.description, lines))
    return out
