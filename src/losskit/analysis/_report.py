"""What :func:`losskit.analysis.check` returns: one :class:`Finding` per check, in a report."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["STATUSES", "CheckReport", "Finding", "numbers", "plain"]

STATUSES = ("pass", "fail", "info", "skip")


@dataclass
class Finding:
    """The outcome of one check: what was declared, what was found, and the evidence."""

    name: str
    status: str
    declared: Any = None
    found: Any = None
    evidence: dict[str, Any] = field(default_factory=dict)
    message: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}; got {self.status!r}")
        self.declared = plain(self.declared)
        self.found = plain(self.found)
        self.evidence = plain(self.evidence)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "declared": self.declared,
                "found": self.found, "evidence": self.evidence, "message": self.message}


@dataclass
class CheckReport:
    """The findings of :func:`check` for one loss; ``str(report)`` is a readable table."""

    loss: str
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """True when no finding failed (infos and skips do not count against it)."""
        return not any(f.status == "fail" for f in self.findings)

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "fail"]

    def __getitem__(self, name: str) -> Finding:
        for finding in self.findings:
            if finding.name == name:
                return finding
        raise KeyError(f"no finding named {name!r}; the report has "
                       f"{[f.name for f in self.findings]}")

    def __contains__(self, name: object) -> bool:
        return any(f.name == name for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        """Plain Python data (JSON-serialisable) of the whole report."""
        return {"loss": self.loss, "passed": self.passed, "seconds": self.seconds,
                "findings": [f.to_dict() for f in self.findings]}

    def __str__(self) -> str:
        counts = {status: sum(f.status == status for f in self.findings) for status in STATUSES}
        head = (f"check of {self.loss}: {counts['pass']} passed, {counts['fail']} failed, "
                f"{counts['info']} info, {counts['skip']} skipped ({self.seconds:.2f} s)")
        rows = [(f.status.upper(), f.name, shown(f.declared), shown(f.found), f.message)
                for f in self.findings]
        widths = [max([len(row[i]) for row in rows] + [len(title)])
                  for i, title in enumerate(("", "check", "declared", "found"))]
        lines = [head, "  " + "  ".join(title.ljust(width) for title, width in zip(
            ("", "check", "declared", "found"), widths, strict=False)) + "  evidence"]
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row[:4], widths, strict=False)]
            lines.append("  " + "  ".join(cells) + "  " + row[4])
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"CheckReport(loss={self.loss!r}, passed={self.passed}, "
                f"findings={[(f.name, f.status) for f in self.findings]})")


def plain(value: Any) -> Any:
    """NumPy scalars and arrays as Python numbers and lists (for JSON and printing)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def shown(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "inf" if math.isinf(value) else f"{value:.6g}"
    return str(value)


def numbers(value: Any) -> str:
    """A number, or an array of numbers, in 6 significant digits."""
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        return f"{float(array):.6g}"
    return "[" + ", ".join(f"{v:.6g}" for v in array.ravel()) + "]"


