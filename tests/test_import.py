"""`import losskit` stays light: optional libraries are imported only where used."""

import subprocess
import sys

HEAVY = ("torch", "jax", "scipy", "dask", "sklearn", "typer", "rich", "matplotlib", "optax",
         "xgboost", "lightgbm")


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


def test_boosting_integrations_load_their_library_on_first_use():
    # lk.xgboost / lk.lightgbm are module attributes resolved lazily; touching one loads
    # its library alone.
    code = (
        "import sys, importlib.util, losskit as lk\n"
        "assert 'xgboost' not in sys.modules and 'lightgbm' not in sys.modules\n"
        "loaded = []\n"
        "for name in ('xgboost', 'lightgbm'):\n"
        "    if importlib.util.find_spec(name) is None:\n"
        "        continue\n"
        "    module = getattr(lk, name)\n"
        "    assert module.__name__ == 'losskit.integrations.' + name\n"
        "    loaded.append(name in sys.modules)\n"
        "print(all(loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "True", out
