"""README.md stays true: its Python blocks run, its numbers are printed, its table is whole."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest

import losskit as lk

README = Path(__file__).resolve().parents[1] / "README.md"
TEXT = README.read_text(encoding="utf-8")
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", TEXT, flags=re.DOTALL)
# A comment ending in numbers after a colon (or made only of numbers) states the output.
STATED = re.compile(r"#\s*(?:[^#]*?:\s*)?((?:-?\d[\d.e+-]*\s*)+)$")


def test_readme_has_python_blocks_that_state_their_output() -> None:
    assert PYTHON_BLOCKS, "README.md has no ```python blocks"
    quickstart = re.search(r"## Quickstart\n\n```python\n(.*?)```", TEXT, flags=re.DOTALL)
    assert quickstart, "README.md lost its ## Quickstart block"
    stated = [line for line in quickstart.group(1).splitlines()
              if line.lstrip().startswith("print(") and STATED.search(line)]
    assert len(stated) >= 2, "the quickstart should say what it prints"


@pytest.mark.parametrize("block", PYTHON_BLOCKS,
                         ids=[f"block{i}" for i in range(len(PYTHON_BLOCKS))])
def test_readme_python_block_runs_and_prints_what_it_says(block: str) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, str(README), "exec"), {"__name__": "__readme__"})
    printed = out.getvalue().splitlines()
    prints = [line for line in block.splitlines() if line.lstrip().startswith("print(")]
    assert len(printed) == len(prints), "each print() in README should print one line"
    for line, output in zip(prints, printed, strict=True):
        stated = STATED.search(line)
        if stated is None:
            continue
        expected = [float(x) for x in stated.group(1).split()]
        got = [float(x) for x in re.findall(r"-?\d+\.?\d*(?:e[+-]?\d+)?", output)]
        np.testing.assert_allclose(got, expected, rtol=1e-12,
                                   err_msg=f"README says {line.strip()!r}, got {output!r}")


def _table_names() -> list[str]:
    match = re.search(r"<!-- losses:start -->(.*?)<!-- losses:end -->", TEXT, re.DOTALL)
    assert match, "README.md lost its <!-- losses:start/end --> markers"
    return re.findall(r"^\| `([a-z0-9_]+)` \|", match.group(1), flags=re.MULTILINE)


def test_readme_table_lists_exactly_the_registered_losses() -> None:
    names = _table_names()
    hint = "regenerate it with `losskit list --markdown` and paste it between the markers"
    missing = sorted(set(lk.list_losses()) - set(names))
    stale = sorted(set(names) - set(lk.list_losses()))
    assert not missing, f"README.md's table lacks {missing}; {hint}"
    assert not stale, f"README.md's table lists unregistered {stale}; {hint}"


def test_readme_table_states_the_declared_properties() -> None:
    from losskit.cli import loss_rows, markdown_table

    match = re.search(r"<!-- losses:start -->\n(.*?)\n<!-- losses:end -->", TEXT, re.DOTALL)
    assert match is not None
    assert match.group(1) == markdown_table(loss_rows()), (
        "README.md's table differs from the declared properties; regenerate it with "
        "`losskit list --markdown`")


def test_readme_setup_commands_match_ci() -> None:
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert 'pip install ".[cli]" && losskit compare' in TEXT
    assert "losskit compare" in ci
    assert 'pip install ".[dev]" && python -m pytest -n 2' in TEXT
    assert "python -m pytest -n 2" in ci
    assert "torch==2.13.0" in TEXT
