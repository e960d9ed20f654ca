"""``losskit.links``: round trips, derivatives, the softmax Jacobian, domains, lookup.

References: derivatives against 4th-order central finite differences of the link's
own ``inverse`` and ``inverse_derivative``; against PyTorch autograd through PyTorch's
own ``exp``, ``sigmoid`` and ``softmax`` (float64, computed live); and at extreme raw
scores against the closed forms ``p q`` and ``p q (q - p)`` (``q = 1 - p``) evaluated
in mpmath at 50 digits.

Round trips hold to rel 1e-14 where they are well conditioned. Where they are not,
the bound is the conditioning times eps, and the test says so: the float in between
carries only so much information. ``expit(30)`` is ``1 - 9.4e-14`` known to 1.1e-16,
so ``logit(expit(30))`` can only be ``30 +- 6e-4``; ``exp`` turns the rounding of
``log(1e300) = 690.8`` into a relative error of ``690.8 * eps / 2``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import mpmath as mp
import numpy as np
import pytest

from losskit.links import (
    POSITIVE,
    REAL,
    UNIT,
    IdentityLink,
    Interval,
    Link,
    LogitLink,
    LogLink,
    SoftmaxLink,
    get_link,
)

torch = pytest.importorskip("torch")

EPS = float(np.finfo(np.float64).eps)
INF = math.inf
NAMES = ["identity", "log", "logit", "softmax"]
ELEMENTWISE = ["identity", "log", "logit"]

# PyTorch's own implementations of each inverse link: the autograd reference.
TORCH_INVERSE: dict[str, Callable[[Any], Any]] = {
    "identity": lambda t: t * 1.0,
    "log": torch.exp,
    "logit": torch.sigmoid,
    "softmax": lambda t: torch.softmax(t, dim=-1),
}


def random_mu(name: str, rng: np.random.Generator) -> np.ndarray:
    """Means in the link's domain, over many decades (softmax: rows on the simplex)."""
    if name == "identity":
        return rng.normal(0.0, 1.0, 60) * 10.0 ** rng.uniform(-5, 5, 60)
    if name == "log":
        return 10.0 ** rng.uniform(-20, 20, 60)
    if name == "logit":
        return 1.0 / (1.0 + 10.0 ** rng.uniform(-12, 12, 60))
    return rng.dirichlet(np.ones(5), 12)


def random_eta(name: str, rng: np.random.Generator) -> np.ndarray:
    eta = rng.normal(0.0, 3.0, 60)
    return eta.reshape(12, 5) if name == "softmax" else eta


def exp_rtol(log_mu: np.ndarray) -> np.ndarray:
    """rel 1e-14, or the conditioning of exp: log(mu) rounds to eps/2 |log mu| absolute,
    which exp turns into that relative error; one more eps for exp itself."""
    return np.maximum(1e-14, 2 * EPS * (1.0 + np.abs(log_mu)))


def logit_atol(eta: np.ndarray) -> np.ndarray:
    """|logit(expit(eta)) - eta|: p is known to a relative 2 eps (expit's rounding), and
    logit magnifies a relative error of p by 1 / (1 - p) = 1 + e^eta; log(p) -
    log1p(-p) rounds to eps (1 + |eta|)."""
    return 4 * EPS * ((1.0 + np.exp(np.minimum(eta, 700.0))) + (1.0 + np.abs(eta)))


def assert_close(actual: Any, expected: Any, *, rtol: Any = 0.0, atol: Any = 0.0) -> None:
    """``|actual - expected| <= atol + rtol |expected|`` elementwise; tolerances may be
    arrays (NumPy's assert_allclose takes scalars only)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    bad = ~(np.abs(actual - expected) <= atol + rtol * np.abs(expected))
    assert not bad.any(), (
        f"{bad.sum()} mismatches, first at {np.argwhere(bad)[0]}: "
        f"{actual[bad][:3]} vs {expected[bad][:3]}")


# ------------------------------------------------------------------ round trips
@pytest.mark.parametrize("name", ["identity", "log", "logit"])
def test_inverse_of_link_random(name: str) -> None:
    link = get_link(name)
    mu = random_mu(name, np.random.default_rng(0))
    eta = link.link(mu)
    # |log mu| <= 46 here, so the conditioning bound stays below 2.1e-14.
    assert_close(link.inverse(eta), mu, rtol=exp_rtol(eta))


@pytest.mark.parametrize("name", ["identity", "log", "logit"])
def test_link_of_inverse_random(name: str) -> None:
    link = get_link(name)
    eta = random_eta(name, np.random.default_rng(1))
    back = link.link(link.inverse(eta))
    if name == "logit":
        assert np.all(np.abs(back - eta) <= logit_atol(eta)), np.abs(back - eta).max()
    else:  # log(exp(eta)) and the identity lose nothing
        np.testing.assert_allclose(back, eta, rtol=1e-14, atol=0)


def test_log_link_extremes() -> None:
    link = LogLink()
    mu = np.array([5e-324, 1e-300, 1e-100, 1.0, 1e100, 1e300, 1.7e308])
    eta = link.link(mu)
    # Subnormal mu has few significant bits; compare it absolutely.
    assert_close(link.inverse(eta), mu, rtol=exp_rtol(eta), atol=1e-323)
    eta = np.array([-700.0, -30.0, 0.0, 30.0, 700.0, 709.0])
    np.testing.assert_allclose(link.link(link.inverse(eta)), eta, rtol=1e-14, atol=0)


def test_logit_link_extremes() -> None:
    link = LogitLink()
    # Negative scores: p = e^eta (1 - ...) keeps full relative accuracy.
    eta = np.array([-700.0, -30.0])
    np.testing.assert_allclose(link.link(link.inverse(eta)), eta, rtol=1e-14, atol=0)
    # Positive scores: p = 1 - e^-eta rounds next to 1 and the information is gone.
    eta = np.array([30.0])
    assert np.all(np.abs(link.link(link.inverse(eta)) - eta) <= logit_atol(eta))
    assert abs(link.link(link.inverse(np.array([30.0])))[0] - 30.0) > 1e-8  # really lost
    assert link.inverse(np.array([700.0]))[0] == 1.0
    # Probabilities near 0 and 1 (1 - 2^-53 is the largest float below 1).
    mu = np.array([5e-324, 1e-300, 1e-20, 1e-16, 0.5, 1 - 1e-10, 1 - 2.0**-52, 1 - 2.0**-53])
    eta = link.link(mu)
    assert_close(link.inverse(eta), mu, rtol=exp_rtol(eta), atol=1e-323)
    # logit(1 - 2^-53) = log(2^53 - 1) = 36.7368005696771... (mpmath)
    np.testing.assert_allclose(eta[-1], 36.73680056967710, rtol=1e-15)


def test_softmax_link_round_trips() -> None:
    link = SoftmaxLink()
    rng = np.random.default_rng(2)
    extreme_mu = np.array([[1e-300, 1.0], [0.5, 0.5], [1e-20, 1.0 - 1e-20]])
    # Dirichlet(0.05) puts most of the mass on one class and the rest far below.
    sparse_mu = np.maximum(rng.dirichlet(np.full(4, 0.05), 12), 1e-300)
    for mu in [rng.dirichlet(np.ones(5), 12), sparse_mu, extreme_mu]:
        mu = mu / mu.sum(axis=-1, keepdims=True)
        log_mu = np.log(mu)
        rtol = exp_rtol(np.abs(log_mu).max(axis=-1, keepdims=True))
        assert_close(link.inverse(link.link(mu)), mu, rtol=rtol)

    extreme_eta = np.array([[0.0, -650.0, 30.0, 5.0], [700.0, 699.0, 698.0, 0.0],
                            [-700.0, -700.0, -700.0, -700.0], [1e4, 1e4 - 1, 1e4 - 2, 1e4]])
    for eta in [random_eta("softmax", rng), extreme_eta]:
        back = link.link(link.inverse(eta))
        # Equal to eta up to a constant per row (the link centres the logs). The
        # expected value rounds eta - mean(eta) too: 8 eps per unit of |eta|.
        shifted = eta - eta.mean(axis=-1, keepdims=True)
        atol = 8 * EPS * (1.0 + np.abs(eta).max(axis=-1, keepdims=True))
        assert np.all(np.abs(back - shifted) <= atol), np.abs(back - shifted).max()
        assert np.all(np.abs(back.mean(axis=-1)) <= atol[:, 0])


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_logit_link_at_the_ends_of_its_domain() -> None:
    np.testing.assert_array_equal(LogitLink().link(np.array([0.0, 1.0, 0.5])), [-INF, INF, 0.0])


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_log_link_at_zero() -> None:
    np.testing.assert_array_equal(get_link("log").link(np.array([0.0, 1.0])), [-INF, 0.0])


# ------------------------------------------------------------------ derivatives
def central_difference(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                       h: float) -> np.ndarray:
    """4th-order central difference: error h^4 f^(5) / 30 plus 3 eps |f| / (2 h)."""
    return (f(x - 2 * h) - 8 * f(x - h) + 8 * f(x + h) - f(x + 2 * h)) / (12 * h)


# h = 1e-3: truncation ~1e-13 relative, rounding ~3e-13 |f| / |f'|; the bounds below
# leave a factor of ~100 over the worst case (logit at |eta| = 6, f / f' = 400).
FD_H = 1e-3
FD_RTOL, FD_ATOL = 1e-8, 1e-11


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_inverse_derivatives_against_finite_differences(name: str) -> None:
    link = get_link(name)
    eta = np.random.default_rng(3).uniform(-6.0, 6.0, 50)
    np.testing.assert_allclose(link.inverse_derivative(eta),
                               central_difference(link.inverse, eta, FD_H),
                               rtol=FD_RTOL, atol=FD_ATOL)
    np.testing.assert_allclose(link.inverse_second_derivative(eta),
                               central_difference(link.inverse_derivative, eta, FD_H),
                               rtol=FD_RTOL, atol=FD_ATOL)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_link_derivative(name: str) -> None:
    # g'(mu) against finite differences of g, and g'(mu) * (g^-1)'(g(mu)) = 1.
    link = get_link(name)
    mu = {"identity": np.linspace(-3, 3, 13), "log": np.linspace(0.5, 5, 13),
          "logit": np.linspace(0.1, 0.9, 13)}[name]
    np.testing.assert_allclose(link.derivative(mu), central_difference(link.link, mu, 1e-4),
                               rtol=1e-9)
    np.testing.assert_allclose(link.derivative(mu) * link.inverse_derivative(link.link(mu)),
                               1.0, rtol=1e-14)


def test_softmax_derivatives_against_finite_differences() -> None:
    # inverse_derivative is the Jacobian's diagonal d p_i / d eta_i, and
    # inverse_second_derivative its derivative along eta_i: difference coordinate-wise.
    link = SoftmaxLink()
    eta = np.random.default_rng(4).normal(0.0, 2.0, (6, 5))
    first = np.empty_like(eta)
    second = np.empty_like(eta)
    for i in range(eta.shape[-1]):
        unit = np.eye(eta.shape[-1])[i]
        first[:, i] = central_difference(
            lambda t, i=i, unit=unit: link.inverse(eta + t * unit)[:, i], 0.0, FD_H)
        second[:, i] = central_difference(
            lambda t, i=i, unit=unit: link.inverse_derivative(eta + t * unit)[:, i], 0.0, FD_H)
    np.testing.assert_allclose(link.inverse_derivative(eta), first, rtol=FD_RTOL, atol=FD_ATOL)
    np.testing.assert_allclose(link.inverse_second_derivative(eta), second, rtol=FD_RTOL,
                               atol=FD_ATOL)


def _autograd_diagonals(name: str, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """d g^-1 / d eta and d^2 g^-1 / d eta^2 (diagonals for softmax) from torch autograd."""
    ref = TORCH_INVERSE[name]
    t = torch.tensor(eta, dtype=torch.float64, requires_grad=True)
    if name != "softmax":
        (first,) = torch.autograd.grad(ref(t).sum(), t, create_graph=True)
        if not first.requires_grad:  # a constant first derivative (identity)
            return first.detach().numpy(), np.zeros_like(eta)
        (second,) = torch.autograd.grad(first.sum(), t)
        return first.detach().numpy(), second.numpy()
    jac = torch.autograd.functional.jacobian

    def diagonal(row: Any) -> Any:
        return torch.diagonal(jac(ref, row, create_graph=True))

    firsts, seconds = [], []
    for row in t.detach():
        firsts.append(diagonal(row).detach().numpy())
        seconds.append(torch.diagonal(jac(diagonal, row)).numpy())
    return np.array(firsts), np.array(seconds)


@pytest.mark.parametrize("name", NAMES)
def test_inverse_derivatives_against_torch_autograd(name: str) -> None:
    link = get_link(name)
    eta = np.random.default_rng(5).uniform(-6.0, 6.0, (6, 5))
    first, second = _autograd_diagonals(name, eta)
    # Both are closed forms in float64; PyTorch forms 1 - p by subtraction, which
    # costs up to eps / (1 - p) ~ 1e-13 relative at eta = 6.
    np.testing.assert_allclose(link.inverse_derivative(eta), first, rtol=1e-12, atol=1e-16)
    np.testing.assert_allclose(link.inverse_second_derivative(eta), second, rtol=1e-12,
                               atol=1e-16)


def test_softmax_inverse_jacobian_against_torch() -> None:
    link = SoftmaxLink()
    eta = np.random.default_rng(6).normal(0.0, 2.0, (2, 3, 4))
    got = link.inverse_jacobian(eta)
    assert got.shape == (2, 3, 4, 4)
    for index in np.ndindex(eta.shape[:-1]):
        row = torch.tensor(eta[index], dtype=torch.float64)
        expected = torch.autograd.functional.jacobian(TORCH_INVERSE["softmax"], row).numpy()
        np.testing.assert_allclose(got[index], expected, rtol=1e-13, atol=1e-16)
    # Its diagonal is inverse_derivative; its rows sum to 0 (softmax sums to 1).
    np.testing.assert_allclose(np.diagonal(got, axis1=-2, axis2=-1),
                               link.inverse_derivative(eta), rtol=1e-15)
    np.testing.assert_allclose(got.sum(axis=-1), 0.0, atol=1e-16)


def _mp_closed_forms(eta: float) -> tuple[mp.mpf, mp.mpf]:
    """p q and p q (q - p) for p = expit(eta), q = 1 - p, at 50 digits.

    q - p = (1 - e^eta) / (1 + e^eta) is taken as -expm1(eta) / (1 + e^eta), which does
    not cancel at eta = 1e-300.
    """
    with mp.workdps(50):
        x = mp.mpf(eta)
        p = 1 / (1 + mp.exp(-x))
        q = 1 / (1 + mp.exp(x))
        return p * q, p * q * (-mp.expm1(x) / (1 + mp.exp(x)))


def assert_relative(got: np.ndarray, expected: list[mp.mpf], bound_eps: float) -> None:
    with mp.workdps(50):
        for g, e in zip(got, expected, strict=True):
            err = abs(mp.mpf(float(g)) - e) / abs(e)
            assert err <= bound_eps * EPS, f"{float(g)!r} vs {mp.nstr(e, 17)}: {float(err):.3g}"


def test_logit_derivatives_at_extremes() -> None:
    # Both tails and the neighbourhood of 0, where q - p = -tanh(eta/2) must not cancel.
    eta = np.array([-700.0, -30.0, -1e-10, 1e-300, 1e-10, 0.5, 30.0, 700.0])
    link = LogitLink()
    refs = [_mp_closed_forms(float(e)) for e in eta]
    assert_relative(link.inverse_derivative(eta), [r[0] for r in refs], 4)
    assert_relative(link.inverse_second_derivative(eta), [r[1] for r in refs], 6)


def test_softmax_derivatives_at_extremes() -> None:
    # With two classes softmax([a, b])_0 = expit(a - b): eta = [30, 0] puts p_0 next to
    # 1, where p (1 - p) by subtraction keeps 3 digits; 1 - p must come from log_softmax.
    link = SoftmaxLink()
    gaps = np.array([-700.0, -30.0, -2.0, 30.0, 700.0])
    eta = np.stack([gaps, np.zeros_like(gaps)], axis=-1)
    refs = [_mp_closed_forms(float(g)) for g in gaps]
    assert_relative(link.inverse_derivative(eta)[:, 0], [r[0] for r in refs], 8)
    assert_relative(link.inverse_second_derivative(eta)[:, 0], [r[1] for r in refs], 12)
    assert_relative(np.diagonal(link.inverse_jacobian(eta), axis1=-2, axis2=-1)[:, 0],
                    [r[0] for r in refs], 8)


def test_links_accept_torch_tensors() -> None:
    eta = np.random.default_rng(7).normal(0.0, 2.0, (3, 4))
    t = torch.tensor(eta)
    for name in NAMES:
        link = get_link(name)
        for method in ("inverse", "inverse_derivative", "inverse_second_derivative"):
            got = getattr(link, method)(t)
            assert torch.is_tensor(got) and got.dtype == torch.float64
            np.testing.assert_allclose(got.numpy(), getattr(link, method)(eta), rtol=1e-14,
                                       atol=1e-300)


# ------------------------------------------------------------------ domains
@pytest.mark.parametrize(("interval", "text"), [
    (REAL, "(-inf, inf)"),
    (POSITIVE, "(0, inf)"),
    (UNIT, "[0, 1]"),
    (Interval(-1.5, 2.0, True, False), "[-1.5, 2)"),
    (Interval(1e-300, 1e300, False, True), "(1e-300, 1e+300]"),
])
def test_interval_str(interval: Interval, text: str) -> None:
    assert str(interval) == text


@pytest.mark.parametrize(("name", "domain", "raw"), [
    ("identity", "(-inf, inf)", "(-inf, inf)"),
    ("log", "(0, inf)", "(-inf, inf)"),
    ("logit", "[0, 1]", "(-inf, inf)"),
    ("softmax", "[0, 1]", "(-inf, inf)"),
])
def test_link_domains(name: str, domain: str, raw: str) -> None:
    link = get_link(name)
    assert (str(link.domain), str(link.raw_domain)) == (domain, raw)


# The smallest normal number: XLA (JAX) flushes subnormals to zero on CPU.
TINY = float(np.finfo(np.float64).smallest_normal)
OUTSIDE_CASES = [
    (REAL, [-INF, -1e308, 0.0, 1e308, INF, np.nan], [True, False, False, False, True, True]),
    (POSITIVE, [-1.0, -0.0, 0.0, TINY, 1e308, INF, np.nan],
     [True, True, True, False, False, True, True]),
    (UNIT, [-TINY, 0.0, TINY, 0.5, 1.0, 1.0 + EPS, np.nan],
     [True, False, False, False, False, True, True]),
    (Interval(0.0, 1.0, True, False), [0.0, 1.0 - EPS / 2, 1.0],
     [False, False, True]),
]


@pytest.mark.parametrize(("interval", "values", "expected"), OUTSIDE_CASES,
                         ids=[str(case[0]) for case in OUTSIDE_CASES])
def test_interval_outside(xp: Any, interval: Interval, values: list[float],
                          expected: list[bool]) -> None:
    mask = interval.outside(xp.namespace, xp.asarray(np.array(values)))
    np.testing.assert_array_equal(xp.to_numpy(mask), expected)


def test_interval_outside_subnormals() -> None:
    x = np.array([-5e-324, 0.0, 5e-324])
    np.testing.assert_array_equal(POSITIVE.outside(np, x), [True, True, False])
    np.testing.assert_array_equal(UNIT.outside(np, x), [True, False, False])


# ------------------------------------------------------------------ lookup
@pytest.mark.parametrize("name", NAMES)
def test_get_link_by_name(name: str) -> None:
    link = get_link(name)
    assert link.name == name and isinstance(link, Link)
    assert get_link(link) is link
    assert link == get_link(name) and hash(link) == hash(get_link(name))
    assert link.elementwise == (name != "softmax")
    assert repr(link) == f"{type(link).__name__}()"


def test_get_link_none_is_identity() -> None:
    assert isinstance(get_link(None), IdentityLink)


@pytest.mark.parametrize("bad", ["probit", "Logit", "", 3, 1.5, object()])
def test_get_link_rejects_unknown(bad: Any) -> None:
    with pytest.raises(ValueError, match=r"link must be one of \['identity', 'log', "
                                         r"'logit', 'softmax'\] or a Link; got ") as info:
        get_link(bad)
    assert repr(bad) in str(info.value)
