"""``losskit._fast._f32math``: float32 exp, log, log1p and log-cosh against float64,
and the float32 drivers' full-width vectors (``losskit._fast._widened``)."""

import re
from pathlib import Path

import numpy as np
import pytest

from conftest import load_module
from losskit import _fast
from losskit.numerics import log_cosh

pytest.importorskip("numba")

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "f32math_ulps.py"
#: Largest errors in ulps over every float32 input (``python scripts/f32math_ulps.py``,
#: 2026-11-26, FMA target): exp 1.010, log 0.827, log1p 1.437, log_cosh 1.303. Without
#: FMA the multiply-adds round twice: the bounds leave room for that.
BOUNDS = {"exp": 1.5, "log": 1.0, "log1p": 2.0, "log_cosh": 2.0}
#: The float32 functions whose zeros, infinities and NaNs (signs included) the
#: compiled ones must give.
FLOAT32 = {"exp": np.exp, "log": np.log, "log1p": np.log1p, "log_cosh": log_cosh}
SPECIAL = np.array([
    0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 2.0, 0.5,
    1e-45, -1e-45, 1.1754942e-38, 1.1754944e-38, 3.4028235e38, -3.4028235e38,
    88.72283, 88.72284, 89.0, -87.33654, -87.33655, -103.27893, -103.97208, -103.972084,
    -104.0, 5.9604645e-8, -5.9604645e-8, 2.9802322e-8, -2.9802322e-8, 1e-30, -1e-30,
    -0.99999994, 0.99999994, 1.0000001, 16777216.0, -0.5, 0.70710677, 0.7071068, 1.4142135,
    # log_cosh: x^2 / 2 at the smallest subnormal and the smallest normal number, the
    # exp's argument -2|x| where its result underflows.
    1.6e-23, 1.7e-23, 1.5407439e-19, 44.0, 52.0, 75.0, -75.0,
], dtype=np.float32)


@pytest.fixture(scope="module")
def script():
    return load_module(SCRIPT)


@pytest.fixture(scope="module")
def evaluators(script):
    return script.evaluators()


@pytest.mark.parametrize("name", sorted(BOUNDS))
def test_within_its_bound_on_every_257th_float32(script, evaluators, name):
    apply, reference = evaluators[name]
    worst, mismatched = 0.0, []
    for x in script.every(257):
        error, _, bad = script.measure(apply, reference, x)
        worst = max(worst, error)
        mismatched += bad
    assert mismatched == []
    assert worst <= BOUNDS[name]
    assert worst > 0.25  # the sample reaches inputs that round (the check can fail)


@pytest.mark.parametrize("name", sorted(BOUNDS))
def test_special_values_and_thresholds_are_numpys(script, evaluators, name):
    apply, reference = evaluators[name]
    with np.errstate(over="ignore"):
        values = np.concatenate([SPECIAL, np.nextafter(SPECIAL, np.float32(np.inf)),
                                 np.nextafter(SPECIAL, np.float32(-np.inf))])
    got = np.empty_like(values)
    apply(values, got)
    err, ordinary, mismatch = script.errors(got, values, reference)
    assert not mismatch.any(), values[mismatch]
    assert err.max() <= BOUNDS[name]
    # Zeros, infinities and NaNs as NumPy's float32 functions give them, signs included.
    with np.errstate(all="ignore"):
        numpy = FLOAT32[name](values)
    got, numpy = got[~ordinary], numpy[~ordinary]
    assert np.array_equal(np.isnan(got), np.isnan(numpy))
    number = ~np.isnan(got)
    assert np.array_equal(got[number].view(np.uint32), numpy[number].view(np.uint32))


def test_the_inputs_are_not_changed(evaluators):
    x = SPECIAL.copy()
    for apply, _ in evaluators.values():
        apply(x, np.empty_like(x))
    assert np.array_equal(x.view(np.uint32), SPECIAL.view(np.uint32))


def _lanes(dispatcher, signature) -> int:
    """The widest ``<N x float>`` in the optimised LLVM IR of one compiled signature."""
    ir = dispatcher.inspect_llvm(signature)
    return max((int(n) for n in re.findall(r"<(\d+) x float>", ir)), default=1)


def test_float32_drivers_compile_with_full_width_vectors_and_leave_llvm_as_it_was():
    """A float32 loop summing in float64 gets vectors of as many float32 lanes as the
    registers hold; a function compiled after it gets LLVM's default again (half as
    many where float64 sets the width)."""
    import numba

    from losskit._fast._sums import accumulate

    def total(x):
        s = 0.0
        for i in range(x.size):
            s = accumulate(s, np.float64(x[i] * x[i] + np.float32(1.0)))
        return s

    x = np.arange(64, dtype=np.float32)
    widened = _fast._widened(numba.njit(total))
    widened(x)
    plain = numba.njit(total)
    plain(x)
    assert widened(x) == plain(x) == float(np.sum(x.astype(np.float64) ** 2 + 1))
    signature = (numba.typeof(x),)
    wide, default = _lanes(widened, signature), _lanes(plain, signature)
    if default == 1:
        pytest.skip("LLVM did not vectorise the loop on this target")
    assert wide == 2 * default
