"""``losskit compile`` (``losskit._fast._compile``): every kernel compiled ahead."""

import numpy as np
import pytest

pytest.importorskip("numba")

from losskit import _fast
from losskit._fast import _compile


def test_groups_hold_every_loss_with_kernels_once_and_join_shared_drivers():
    groups = _compile.groups()
    losses = [loss for group in groups for loss in group]
    labels = [_compile._label(loss) for loss in losses]
    assert len(labels) == len(set(labels))
    # Every provider's class is there, under every link its provider serves.
    assert {type(loss) for loss in losses} == set(_fast._PROVIDERS)
    for cls in _fast._PROVIDERS:
        for link in cls.links:
            try:
                loss = cls(link=link)
            except (TypeError, ValueError):
                continue
            served = _fast.kernels_for(loss) is not None
            assert served == (_compile._label(loss) in labels), (cls.name, link)
    # Losses share a group exactly when their kernels share a compiled driver.
    drivers = [{id(d) for loss in group for d in _fast.kernels_for(loss).drivers}
               for group in groups]
    assert all(drivers)
    assert all(not (a & b) for i, a in enumerate(drivers) for b in drivers[i + 1:])
    by_label = {_compile._label(loss): i for i, group in enumerate(groups) for loss in group}
    assert by_label["quantile"] == by_label["asymmetric"]  # one piecewise-linear driver
    assert len({by_label["binary_cross_entropy"], by_label["focal(link=logit)"],
                by_label["hinge"], by_label["binary_cross_entropy(link=logit)"],
                by_label["huber"], by_label["squared_error"]}) == 6


def test_every_driver_is_compiled_for_the_dtypes_asked():
    """After ``compile_kernels``, each driver twin holds a compiled float64 signature
    (the call compiles it, or loads it from numba's cache)."""
    import numba

    compiled = _compile.compile_kernels(dtypes=("float64",), jobs=1)
    parallel = numba.config.NUMBA_NUM_THREADS >= 2
    expected = {(_compile._label(loss), twin) for group in _compile.groups()
                for loss in group for twin in ((False, True) if parallel else (False,))}
    assert {(done.loss, done.parallel) for done in compiled} == expected
    assert {done.dtype for done in compiled} == {"float64"}
    for group in _compile.groups():
        for driver in _fast.kernels_for(group[0]).drivers:
            twins = (driver.serial, driver.parallel) if parallel else (driver.serial,)
            for twin in twins:
                # Driver arguments: (op or kind, ..., arrays ...): some array is float64.
                dtypes = {str(arg.dtype) for signature in twin.signatures for arg in signature
                          if isinstance(arg, numba.types.Array)}
                assert "float64" in dtypes, (group[0].name, twin)


def test_jobs_share_the_work_and_report_every_loss_dtype_and_twin():
    one = _compile.compile_kernels(dtypes=("float32",), jobs=1)
    two = _compile.compile_kernels(dtypes=("float32",), jobs=2)
    key = sorted((done.loss, done.dtype, done.parallel) for done in one)
    assert sorted((done.loss, done.dtype, done.parallel) for done in two) == key
    assert all(np.isfinite(done.seconds) and done.seconds >= 0 for done in one + two)


@pytest.mark.parametrize(("arguments", "message"), [
    ({"dtypes": ("float16",)}, "dtypes must be among"),
    ({"jobs": 0}, "jobs must be a positive integer"),
    ({"jobs": 1.5}, "jobs must be a positive integer"),
])
def test_bad_arguments_are_refused_by_name(arguments, message):
    with pytest.raises(ValueError, match=message):
        _compile.compile_kernels(**arguments)


def test_the_command_compiles_and_refuses_bad_options():
    pytest.importorskip("typer")
    from typer.testing import CliRunner

    from losskit.cli import make_app

    runner = CliRunner()
    result = runner.invoke(make_app(), ["compile", "--dtype", "float64", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    count = sum(len(group) for group in _compile.groups())
    assert f"{count} losses, float64" in result.output
    assert "huber" in result.output and "cross_entropy(link=softmax)" in result.output
    for arguments, message in ((["--dtype", "half"], "--dtype must be"),
                               (["--jobs", "-2"], "--jobs must be")):
        result = runner.invoke(make_app(), ["compile", *arguments])
        assert result.exit_code == 2
        assert message in result.output
