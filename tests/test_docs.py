"""docs/checking-losses.md is what scripts/make_check_docs.py writes today.

The numbers in a report (errors of 1e-17, optimiser spreads) may differ in their last
digits from one machine to another, so the page is compared by its verdicts: for each
loss, the status of every check. A change in what check finds fails here until the page
is regenerated with ``python scripts/make_check_docs.py``.
"""

import re
from pathlib import Path

from conftest import load_module

ROOT = Path(__file__).resolve().parent.parent
VERDICT = re.compile(r"^\s+(PASS|FAIL|INFO|SKIP)\s+(\w+)", re.MULTILINE)


def verdicts(page: str) -> list[list[tuple[str, str]]]:
    sections = page.split("\n## ")[1:]
    return [VERDICT.findall(section) for section in sections]


def test_the_checking_page_is_up_to_date() -> None:
    fresh = load_module(ROOT / "scripts" / "make_check_docs.py").render()
    committed = (ROOT / "docs" / "checking-losses.md").read_text()
    assert verdicts(fresh) == verdicts(committed), (
        "docs/checking-losses.md is out of date: run python scripts/make_check_docs.py")
    # Six losses, ten checks each, and none of the seed's losses fails a check.
    found = verdicts(committed)
    assert len(found) == 6 and all(len(report) == 10 for report in found)
    assert all(status != "FAIL" for report in found for status, _ in report)
