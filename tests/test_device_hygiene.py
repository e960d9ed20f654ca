"""Arrays created inside losskit land on the inputs' device.

CI has no GPU, so a creation call without ``device=`` (``xp.arange(k)``) would pass every
CPU test and fail on CUDA with "tensors on different devices" (it did once; see
scripts/gpu_check.py, run on an H200). This scan makes the rule checkable on the CPU:
every ``xp.<creator>(...)`` in the package names a device.
"""

import ast
from pathlib import Path

import losskit

CREATORS = {"arange", "zeros", "ones", "full", "eye", "empty", "linspace", "asarray"}
PACKAGE = Path(losskit.__file__).parent


def creation_calls_without_device(source: str, name: str) -> list[str]:
    """``xp.<creator>(...)`` calls with neither ``device=`` nor ``**kwargs``."""
    found = []
    for node in ast.walk(ast.parse(source, filename=name)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        if not (isinstance(owner, ast.Name) and owner.id == "xp"):
            continue
        if node.func.attr not in CREATORS:
            continue
        # keyword.arg is None for **kwargs, which carry the device where it is known.
        if any(keyword.arg in ("device", None) for keyword in node.keywords):
            continue
        found.append(f"{name}:{node.lineno}: xp.{node.func.attr}(...)")
    return found


def test_every_array_creation_names_a_device():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        offenders += creation_calls_without_device(path.read_text(),
                                                   str(path.relative_to(PACKAGE)))
    assert not offenders, "create arrays on the input's device:\n" + "\n".join(offenders)


def test_the_scan_finds_a_planted_call_without_device():
    source = "xp.arange(3)\nxp.arange(3, device=d)\nxp.zeros(2, **kw)\nnp.arange(3)\n"
    assert creation_calls_without_device(source, "planted.py") == [
        "planted.py:1: xp.arange(...)"
    ]
