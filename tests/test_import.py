"""`import losskit` stays light: optional libraries are imported only where used."""

import subprocess
import sys

HEAVY = ("torch", "jax", "scipy", "dask", "sklearn", "typer", "rich", "matplotlib", "optax")


def test_import_loads_no_optional_or_heavy_library():
    code = (
        "import sys, losskit\n"
        f"heavy = {HEAVY!r}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]", f"import losskit pulled in {out}"


def test_every_loss_is_usable_without_optional_libraries():
    # Values and derivatives need only NumPy; scipy is loaded lazily by optimal_constant.
    code = (
        "import sys, numpy as np, losskit as lk\n"
        "for name in lk.list_losses():\n"
        "    loss = lk.get(name)\n"
        "    p, y = loss.example(5)\n"
        "    loss(p, y); loss.gradient_hessian(p, y)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'jax', 'dask'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]", out
