"""Ranking losses and metrics: hand-computed cases, reference implementations, edge cases.

The generic checks (autodiff, finite differences, backends, dtypes, weights, pickling)
are in ``test_structured.py``. Here each loss meets numbers computed by hand (the
comment says how) and an independent implementation written the way the papers and
allRank write it: sorting the lists and looping over positions, where the module
counts comparisons instead. The metrics meet ``sklearn.metrics`` and brute-force
enumeration of the orders of tied items.
"""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Any

import numpy as np
import pytest

import losskit as lk
from losskit.metrics import average_precision, mean_average_precision, mrr, ndcg

RANKING = ["ranknet", "pairwise_hinge", "listnet", "listmle", "approx_ndcg", "lambda_loss"]
PAIRWISE_ZERO_ON_TIES = ["ranknet", "pairwise_hinge", "lambda_loss"]


def expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


# ------------------------------------------------------- hand-computed cases
def test_ranknet_by_hand() -> None:
    # Scores [2, 1, 0], relevance [2, 0, 1]: preferred pairs (0, 1), (0, 2), (2, 1) with
    # score gaps 1, 2, -1; L = sum of log(1 + e^-gap)
    #   = 0.3132617 + 0.1269280 + 1.3132617 = 1.7534514 (term by term).
    loss = lk.get("ranknet")
    s, y = np.array([[2.0, 1.0, 0.0]]), np.array([[2.0, 0.0, 1.0]])
    expected = softplus(-1.0) + softplus(-2.0) + softplus(1.0)
    assert float(loss(s, y)) == pytest.approx(expected, rel=1e-14)
    assert expected == pytest.approx(1.7534514, abs=1e-7)
    # dL/ds0 = -expit(-1) - expit(-2); dL/ds1 = expit(-1) + expit(1) = 1;
    # dL/ds2 = expit(-2) - expit(1).
    gradient = [-expit(-1.0) - expit(-2.0), expit(-1.0) + expit(1.0), expit(-2.0) - expit(1.0)]
    np.testing.assert_allclose(loss.gradient(s, y)[0], gradient, rtol=1e-14)
    # sigma scales the gaps: sigma = 2 is RankNet on scores 2 s.
    np.testing.assert_allclose(lk.get("ranknet", sigma=2.0)(s, y), loss(2.0 * s, y), rtol=1e-14)


def test_ranknet_is_pairwise_binary_cross_entropy_in_torch() -> None:
    torch = pytest.importorskip("torch")
    loss = lk.get("ranknet")
    s, y = loss.example(5, seed=4)
    for row in range(s.shape[0]):
        keep = y[row] >= 0
        pairs = [(i, j) for i in np.flatnonzero(keep) for j in np.flatnonzero(keep)
                 if y[row, i] > y[row, j]]
        gaps = torch.tensor([s[row, i] - s[row, j] for i, j in pairs], dtype=torch.float64)
        reference = torch.nn.functional.binary_cross_entropy_with_logits(
            gaps, torch.ones_like(gaps), reduction="sum")
        assert loss.elementwise(s[row:row + 1], y[row:row + 1])[0] == pytest.approx(
            float(reference), rel=1e-13)


def test_pairwise_hinge_matches_torch_margin_ranking_loss() -> None:
    # PyTorch's MarginRankingLoss(x1, x2, target=1) = max(0, margin - (x1 - x2)) on the
    # preferred pairs (x1 the more relevant item), summed: the same convention.
    torch = pytest.importorskip("torch")
    for margin in (1.0, 0.3, 0.0):
        loss = lk.get("pairwise_hinge", margin=margin)
        s, y = loss.example(6, seed=5)
        criterion = torch.nn.MarginRankingLoss(margin=margin, reduction="sum")
        for row in range(s.shape[0]):
            keep = np.flatnonzero(y[row] >= 0)
            pairs = [(i, j) for i in keep for j in keep if y[row, i] > y[row, j]]
            x1 = torch.tensor([s[row, i] for i, _ in pairs], requires_grad=True)
            x2 = torch.tensor([s[row, j] for _, j in pairs], requires_grad=True)
            reference = criterion(x1, x2, torch.ones(len(pairs), dtype=torch.float64))
            assert loss.elementwise(s[row:row + 1], y[row:row + 1])[0] == pytest.approx(
                float(reference.detach()), rel=1e-13, abs=1e-15)
            reference.backward()
            expected = np.zeros(s.shape[1])
            for (i, j), g1, g2 in zip(pairs, x1.grad.numpy(), x2.grad.numpy(), strict=True):
                expected[i] += g1
                expected[j] += g2
            np.testing.assert_allclose(loss.gradient(s[row:row + 1], y[row:row + 1])[0],
                                       expected, atol=1e-15)


def test_pairwise_hinge_by_hand_and_its_surrogate_hessian() -> None:
    # Scores [0.5, 0, 3], relevance [2, 1, 0], margin 1: pairs (0,1) gap 0.5 -> 0.5,
    # (0,2) gap -2.5 -> 3.5, (1,2) gap -3 -> 4; L = 8. Every pair is active:
    # dL/ds = [-2, 1 - 1, 2] = [-2, 0, 2]. Each item is in 2 pairs: surrogate [2, 2, 2].
    loss = lk.get("pairwise_hinge")
    s, y = np.array([[0.5, 0.0, 3.0]]), np.array([[2.0, 1.0, 0.0]])
    assert float(loss(s, y)) == 8.0
    np.testing.assert_array_equal(loss.gradient(s, y), [[-2.0, 0.0, 2.0]])
    np.testing.assert_array_equal(loss.hessian(s, y), [[2.0, 2.0, 2.0]])
    assert loss.properties.hessian == "surrogate"


def test_listnet_by_hand_and_against_torch_soft_cross_entropy() -> None:
    # Tied scores give p = 1/n whatever the targets: L = -sum t log(1/3) = log 3.
    loss = lk.get("listnet")
    y = np.array([[2.0, 1.0, 0.0]])
    assert float(loss(np.zeros((1, 3)), y)) == pytest.approx(math.log(3.0), rel=1e-15)
    # At s = y the loss is the entropy of softmax(y), its minimum; gradient 0.
    t = np.exp(y[0]) / np.sum(np.exp(y[0]))
    assert float(loss(y, y)) == pytest.approx(-np.sum(t * np.log(t)), rel=1e-14)
    np.testing.assert_allclose(loss.gradient(y, y), 0.0, atol=1e-16)
    torch = pytest.importorskip("torch")
    s, y = loss.example(6, seed=6)
    for row in range(s.shape[0]):
        keep = y[row] >= 0
        target = torch.softmax(torch.from_numpy(y[row, keep]), dim=0)
        reference = torch.nn.functional.cross_entropy(torch.from_numpy(s[row, keep])[None],
                                                      target[None])
        assert loss.elementwise(s[row:row + 1], y[row:row + 1])[0] == pytest.approx(
            float(reference), rel=1e-13)


def listmle_reference(s: np.ndarray, y: np.ndarray) -> float:
    """ListMLE as Xia et al. (2008) and allRank write it: sort by relevance, then sum
    the log-normalisers of the Plackett-Luce stages (ties by position: stable sort)."""
    keep = y >= 0
    s, y = s[keep], y[keep]
    order = np.argsort(-y, kind="stable")
    ordered = s[order]
    return float(sum(math.log(np.sum(np.exp(ordered[r:]))) - ordered[r]
                     for r in range(ordered.size)))


def test_listmle_by_hand_and_against_the_sorted_reference() -> None:
    loss = lk.get("listmle")
    # Relevance [2, 1, 0] orders the items (0, 1, 2); scores [1, 2, 0]:
    # L = log(e + e^2 + 1) - 1 + log(e^2 + 1) - 2 + log(1) - 0 = 1.7735...
    s, y = np.array([[1.0, 2.0, 0.0]]), np.array([[2.0, 1.0, 0.0]])
    expected = (math.log(math.e + math.e**2 + 1.0) - 1.0 + math.log(math.e**2 + 1.0) - 2.0)
    assert float(loss(s, y)) == pytest.approx(expected, rel=1e-14)
    # All labels tied and equal scores: every order has probability 1/3!, L = log 6.
    assert float(loss(np.zeros((1, 3)), np.ones((1, 3)))) == pytest.approx(math.log(6.0))
    s, y = loss.example(8, seed=7)
    y[0] = 1.0  # a list whose labels are all tied
    for row in range(s.shape[0]):
        assert loss.elementwise(s[row:row + 1], y[row:row + 1])[0] == pytest.approx(
            listmle_reference(s[row], y[row]), rel=1e-12)


def approx_ndcg_reference(s: np.ndarray, y: np.ndarray, alpha: float) -> float:
    """Qin et al. (2010), eq. for ApproxNDCG, with loops over the items."""
    keep = y >= 0
    s, y = s[keep], y[keep]
    gains = 2.0**y - 1.0
    ideal = sum(g / math.log2(2.0 + r) for r, g in enumerate(sorted(gains, reverse=True)))
    if ideal == 0.0:
        return 0.0
    total = 0.0
    for i in range(s.size):
        rank = 1.0 + sum(expit(alpha * (s[j] - s[i])) for j in range(s.size) if j != i)
        total += gains[i] / math.log2(1.0 + rank)
    return 1.0 - total / ideal


def test_approx_ndcg_by_hand_and_against_the_loop_reference() -> None:
    # Relevance [1, 0], tied scores: smoothed rank of item 0 is 1 + sigma(0) = 1.5,
    # IDCG = 1, so L = 1 - 1 / log2(2.5) = 0.2435292...
    loss = lk.get("approx_ndcg")
    y = np.array([[1.0, 0.0]])
    assert float(loss(np.zeros((1, 2)), y)) == pytest.approx(1.0 - 1.0 / math.log2(2.5))
    # Far apart scores (alpha 100): the smoothed ranks are the ranks and L = 1 - NDCG,
    # which scikit-learn gives (binary relevance: linear and exponential gains agree).
    from sklearn.metrics import ndcg_score

    sharp = lk.get("approx_ndcg", alpha=100.0)
    for scores in ([[3.0, 0.0]], [[0.0, 3.0]]):
        assert float(sharp(np.array(scores), y)) == pytest.approx(
            1.0 - ndcg_score(y, np.array(scores)), abs=1e-12)
    for alpha in (1.0, 10.0):
        loss = lk.get("approx_ndcg", alpha=alpha)
        s, y = loss.example(8, seed=8)
        y[1] = np.where(y[1] >= 0, 0.0, y[1])  # nothing relevant: loss 0
        for row in range(s.shape[0]):
            assert loss.elementwise(s[row:row + 1], y[row:row + 1])[0] == pytest.approx(
                approx_ndcg_reference(s[row], y[row], alpha), rel=1e-12, abs=1e-15)


def lambda_loss_reference(s: np.ndarray, y: np.ndarray, weighting: str, mu: float,
                          sigma: float, k: int | None = None) -> float:
    """Wang et al. (2018) as allRank's ``lambdaLoss``: sort by score, weights from
    positions, sum over the pairs ``y_i > y_j`` of ``-w log2 sigmoid(sigma (s_i - s_j))``;
    with ``k``, only pairs of items both in the top ``k`` by score, and the ideal DCG of
    the ``k`` largest gains (allRank's ``ndcg_at_k_mask[:k, :k]`` and ``maxDCGs[:, :k]``)."""
    keep = y >= 0
    s, y = s[keep], y[keep]
    order = np.argsort(-s, kind="stable")
    rank = np.empty(s.size)
    rank[order] = np.arange(1, s.size + 1)
    gains = 2.0**y - 1.0
    ideal = sum(g / math.log2(2.0 + r)
                for r, g in enumerate(sorted(gains, reverse=True)[:k]))
    gains = gains / ideal if ideal > 0 else 0.0 * gains

    def inverse_discount(r: float) -> float:
        return 1.0 / math.log2(1.0 + r)

    total = 0.0
    for i in range(s.size):
        for j in range(s.size):
            if not y[i] > y[j] or (k is not None and max(rank[i], rank[j]) > k):
                continue
            gap = abs(rank[i] - rank[j])
            delta = abs(inverse_discount(gap) - inverse_discount(gap + 1))
            rho = abs(inverse_discount(rank[i]) - inverse_discount(rank[j]))
            scheme = {"ndcg_loss2": delta, "lambdarank": rho, "ndcg_loss2pp": rho + mu * delta}
            weight = abs(gains[i] - gains[j]) * scheme[weighting]
            total -= weight * math.log2(expit(sigma * (s[i] - s[j])))
    return total


def test_lambda_loss_by_hand_and_against_the_sorted_reference() -> None:
    # Relevance [1, 0], scores [0, 1] (wrong order): G = [1, 0] (IDCG = 1), ranks [2, 1];
    # delta = rho = 1 - 1/log2(3); NDCG-Loss2++ weight (1 + mu) delta; the pair's term is
    # log2(1 + e^{-(0 - 1)}) = log2(1 + e).
    s, y = np.array([[0.0, 1.0]]), np.array([[1.0, 0.0]])
    delta = 1.0 - 1.0 / math.log2(3.0)
    expected = 11.0 * delta * math.log2(1.0 + math.e)
    assert float(lk.get("lambda_loss")(s, y)) == pytest.approx(expected, rel=1e-14)
    for weighting in ("ndcg_loss2", "ndcg_loss2pp", "lambdarank"):
        for mu, sigma in ((10.0, 1.0), (2.0, 0.5)):
            loss = lk.get("lambda_loss", weighting=weighting, mu=mu, sigma=sigma)
            p, y = loss.example(8, seed=9)
            for row in range(p.shape[0]):
                assert loss.elementwise(p[row:row + 1], y[row:row + 1])[0] == pytest.approx(
                    lambda_loss_reference(p[row], y[row], weighting, mu, sigma), rel=1e-12)


@pytest.mark.parametrize("k", [1, 2, 3, 5, 50])
def test_lambda_loss_at_k_against_the_sorted_reference(k: int) -> None:
    for weighting in ("ndcg_loss2", "ndcg_loss2pp", "lambdarank"):
        loss = lk.get("lambda_loss", weighting=weighting, k=k)
        p, y = loss.example(8, seed=11)
        for row in range(p.shape[0]):
            assert loss.elementwise(p[row:row + 1], y[row:row + 1])[0] == pytest.approx(
                lambda_loss_reference(p[row], y[row], weighting, 10.0, 1.0, k),
                rel=1e-12, abs=1e-15)
    # k at least the list size: the untruncated loss, bit for bit.
    p, y = lk.get("lambda_loss").example(8, seed=11)
    full = lk.get("lambda_loss")
    np.testing.assert_array_equal(lk.get("lambda_loss", k=p.shape[-1]).elementwise(p, y),
                                  full.elementwise(p, y))


def test_lambda_loss_at_k_ignores_pairs_below_the_top_k() -> None:
    # Scores put items 0, 1 on top; with k = 2 only their pair counts, so swapping the
    # relevances of the two bottom items leaves the value and the top items' gradient
    # unchanged (the ideal DCG@2 is the same), and the bottom items get no gradient.
    loss = lk.get("lambda_loss", k=2)
    s = np.array([[3.0, 2.0, 1.0, 0.0]])
    y = np.array([[1.0, 2.0, 0.0, 1.0]])
    swapped = np.array([[1.0, 2.0, 1.0, 0.0]])
    assert float(loss(s, y)) == float(loss(s, swapped)) > 0
    gradient = loss.gradient(s, y)
    np.testing.assert_array_equal(gradient[0, 2:], 0.0)
    np.testing.assert_array_equal(gradient[0, :2], loss.gradient(s, swapped)[0, :2])
    for bad in (2.5, True, "3"):
        with pytest.raises(TypeError, match="k for 'lambda_loss' must be a positive integer"):
            lk.get("lambda_loss", k=bad)


def test_lambda_loss_jumps_where_scores_cross() -> None:
    # Declared discontinuous (smoothness -1): moving one score across another changes
    # the ranks, hence the weights, by a finite amount.
    loss = lk.get("lambda_loss")
    y = np.array([[2.0, 1.0, 0.0]])
    below = loss(np.array([[0.0, 1.0 - 1e-9, 1.0]]), y)
    above = loss(np.array([[0.0, 1.0 + 1e-9, 1.0]]), y)
    assert abs(float(above) - float(below)) > 1e-3
    assert loss.properties.smoothness == -1 and not loss.properties.convex


# -------------------------------------------------------------- invariances
@pytest.mark.parametrize("name", RANKING)
def test_padding_is_ignored_and_shifts_change_nothing(name: str) -> None:
    loss = lk.get(name)
    s, y = loss.example(6, seed=10)
    # A padded list equals the same list without its padding columns.
    row = 3
    keep = y[row] >= 0
    assert not np.all(keep)
    short = loss.elementwise(s[row:row + 1, keep], y[row:row + 1, keep])
    np.testing.assert_allclose(loss.elementwise(s[row:row + 1], y[row:row + 1]), short,
                               rtol=1e-14)
    gradient = loss.gradient(s[row:row + 1], y[row:row + 1])
    assert np.all(gradient[0, ~keep] == 0.0)
    np.testing.assert_allclose(gradient[:, keep],
                               loss.gradient(s[row:row + 1, keep], y[row:row + 1, keep]),
                               rtol=1e-13, atol=1e-16)
    # The scores of padding entries do not matter.
    moved = s.copy()
    moved[y < 0] = 1e3
    np.testing.assert_array_equal(loss.elementwise(moved, y), loss.elementwise(s, y))
    # Adding a constant to every score of a list changes no ranking loss.
    shifted = s + np.arange(s.shape[0])[:, None] * 2.5
    np.testing.assert_allclose(loss.elementwise(shifted, y), loss.elementwise(s, y),
                               rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------- edge cases
def all_outputs(loss: Any, s: Any, y: Any) -> dict[str, Any]:
    values, gradient = loss.loss_gradient(s, y)
    return {"values": values, "gradient": gradient, "hessian": loss.hessian(s, y),
            "sum": loss(s, y, reduction="sum")}


def assert_finite(outputs: dict[str, Any], what: str) -> None:
    for key, value in outputs.items():
        array = np.asarray(value, dtype=np.float64)
        assert np.all(np.isfinite(array)), f"{what}: {key} not finite: {array}"


@pytest.mark.parametrize("name", RANKING)
def test_all_labels_tied(name: str) -> None:
    loss = lk.get(name)
    s = np.array([[0.3, -1.2, 2.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    for level in (0.0, 2.0):
        y = np.full(s.shape, level)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            outputs = all_outputs(loss, s, y)
        assert_finite(outputs, f"labels all {level}")
        if name in PAIRWISE_ZERO_ON_TIES:  # no preferred pair: nothing to learn
            assert np.all(outputs["values"] == 0.0) and np.all(outputs["gradient"] == 0.0)
        if name == "approx_ndcg" and level == 0.0:  # nothing relevant: loss 0
            assert np.all(outputs["values"] == 0.0)


@pytest.mark.parametrize("name", RANKING)
def test_a_list_of_padding_counts_for_nothing(name: str) -> None:
    loss = lk.get(name)
    s, y = loss.example(4, seed=11)
    padded = y.copy()
    padded[2] = -1.0
    values = loss(s, padded, reduction="none")
    assert values[2] == 0.0
    assert np.all(loss.gradient(s, padded)[2] == 0.0) and np.all(loss.hessian(s, padded)[2]
                                                               >= 0.0)
    others = [0, 1, 3]
    # The mean counts only the lists that hold items.
    assert float(loss(s, padded)) == pytest.approx(float(np.mean(values[others])), rel=1e-14)
    assert float(loss(s, padded, [1.0, 2.0, 5.0, 3.0])) == pytest.approx(
        float(np.average(values[others], weights=[1.0, 2.0, 3.0])), rel=1e-14)
    with pytest.raises(ValueError, match=r"weighted mean of '.*' is undefined"):
        loss(s[2:3], padded[2:3])
    with pytest.raises(ValueError, match=r"weighted mean of '.*' is undefined"):
        loss(s, padded, [0.0, 0.0, 1.0, 0.0])
    assert float(loss(s[2:3], padded[2:3], reduction="sum")) == 0.0


@pytest.mark.parametrize("name", RANKING)
def test_lists_of_length_one(name: str) -> None:
    loss = lk.get(name)
    for s, y in ((np.array([[0.7], [-3.0]]), np.array([[2.0], [0.0]])),
                 (np.array([[0.7, 5.0, 1.0]]), np.array([[1.0, -1.0, -1.0]]))):
        outputs = all_outputs(loss, s, y)
        assert_finite(outputs, "one item per list")
        assert np.all(outputs["gradient"] == 0.0)
        if name != "approx_ndcg":
            assert np.all(outputs["values"] == 0.0)
        else:  # one relevant item is at rank 1: NDCG 1, or nothing relevant: 0
            np.testing.assert_allclose(outputs["values"], 0.0, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("name", RANKING)
def test_duplicate_and_extreme_scores_stay_finite(name: str, dtype: Any) -> None:
    loss = lk.get(name)
    _, y = loss.example(4, seed=12)
    cases = {
        "duplicates": np.full(y.shape, 0.25),
        "extreme": np.where(np.arange(y.shape[1]) % 2 == 0, 1e4, -1e4) * np.ones(y.shape),
        "reversed extreme": np.where(y > 0, -1e4, 1e4),
        "huge duplicates": np.full(y.shape, -1e4),
    }
    for label, s in cases.items():
        if dtype is np.float16:
            # A sum of pair terms of 2e4 each is genuinely beyond float16's 65504: the
            # result is +inf exactly where the float64 value does not fit, finite elsewhere.
            reference = all_outputs(loss, s, y)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # numpy's cast to float16
                outputs = all_outputs(loss, s.astype(dtype), y)
            for key, value in outputs.items():
                fits = np.abs(np.asarray(reference[key])) < 6.5e4
                assert np.all(np.isfinite(value[fits])), f"{label}: {key} {value}"
                assert np.all(np.isposinf(np.abs(value[~fits]))), f"{label}: {key} {value}"
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            outputs = all_outputs(loss, s.astype(dtype), y)
        assert outputs["values"].dtype == dtype and outputs["gradient"].dtype == dtype
        assert_finite(outputs, f"{label} scores in {np.dtype(dtype).name}")
        if dtype is np.float64 and name in ("listnet", "ranknet", "listmle"):
            assert np.all(outputs["hessian"] >= 0.0)


def test_extreme_scores_give_the_limits() -> None:
    # Scores 1e4 apart in the right order: the smooth losses vanish; the wrong order
    # makes RankNet grow like the gap (softplus(1e4) = 1e4, exactly).
    s = np.array([[1e4, 0.0, -1e4]])
    y = np.array([[2.0, 1.0, 0.0]])
    for name in ("ranknet", "listmle", "approx_ndcg", "lambda_loss", "pairwise_hinge"):
        assert float(lk.get(name)(s, y)) == pytest.approx(0.0, abs=1e-12), name
    assert float(lk.get("ranknet")(-s, y)) == pytest.approx(1e4 + 1e4 + 2e4, rel=1e-15)


def test_nan_policy_propagate_marks_only_its_list() -> None:
    loss = lk.get("listnet", nan_policy="propagate")
    s, y = loss.example(3, seed=13)
    s[1, 0] = np.nan
    values = loss(s, y, reduction="none")
    assert np.isnan(values[1]) and np.all(np.isfinite(values[[0, 2]]))
    gradient = loss.gradient(s, y)
    assert np.all(np.isnan(gradient[1])) and np.all(np.isfinite(gradient[[0, 2]]))
    with pytest.raises(ValueError, match="y_pred for 'listnet' must be finite"):
        lk.get("listnet")(s, y)


# --------------------------------------------------------------- bad input
@pytest.mark.parametrize("name", RANKING)
def test_bad_input_gets_a_clear_error(name: str) -> None:
    loss = lk.get(name)
    s, y = loss.example(3, seed=14)
    bad = y.copy()
    bad[0, 0] = -2.0
    with pytest.raises(ValueError, match=r"y_true for '.*' must be graded relevance >= 0 or "
                                         r"padding_value=-1; got 1 such value \(first at "
                                         r"index \(0, 0\)\)"):
        loss(s, bad)
    with pytest.raises(ValueError, match=r"y_true for .* shape \(3, 6\); got shape \(3, 5\)"):
        loss(s, y[:, :5])
    with pytest.raises(ValueError, match=r"y_pred .* must have shape \(n_lists, list_size\)"):
        loss(s[0], y[0])
    with pytest.raises(ValueError, match="sample_weight must have shape"):
        loss(s, y, np.ones(4))
    with pytest.raises(ValueError, match=r"padding_value for .* must be < 0"):
        lk.get(name, padding_value=0.0)
    with pytest.raises(NotImplementedError, match="optimal_constant is not defined"):
        loss.optimal_constant(y)
    # padding_value=None: every entry is an item, and -1 is then out of the domain.
    unpadded = lk.get(name, padding_value=None)
    with pytest.raises(ValueError, match=r"graded relevance >= 0; got"):
        unpadded(s, y)
    np.testing.assert_array_equal(unpadded(s, np.abs(y), reduction="none"),
                                  loss(s, np.abs(y), reduction="none"))


@pytest.mark.parametrize(("name", "params", "message"), [
    ("ranknet", {"sigma": 0.0}, "sigma for 'ranknet' must be > 0"),
    ("pairwise_hinge", {"margin": -1.0}, "margin for 'pairwise_hinge' must be >= 0"),
    ("approx_ndcg", {"alpha": -2.0}, "alpha for 'approx_ndcg' must be > 0"),
    ("lambda_loss", {"weighting": "ndcg"}, "weighting for 'lambda_loss' must be one of"),
    ("lambda_loss", {"mu": -1.0}, "mu for 'lambda_loss' must be >= 0"),
    ("lambda_loss", {"k": 0}, "k for 'lambda_loss' must be a positive integer or None"),
])
def test_bad_hyperparameters(name: str, params: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        lk.get(name, **params)


# ------------------------------------------------------------------ metrics
def random_lists(seed: int, n: int = 12, size: int = 7, ties: bool = True
                 ) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, size=(n, size)).astype(float)
    scores = rng.integers(0, 4, size=(n, size)).astype(float) if ties else rng.normal(
        size=(n, size))
    return y, scores


@pytest.mark.parametrize("k", [None, 1, 3, 10])
def test_ndcg_matches_sklearn_with_linear_gains(k: int | None) -> None:
    from sklearn.metrics import ndcg_score

    for ties in (True, False):
        y, scores = random_lists(15, ties=ties)
        y[0] = 0.0  # nothing relevant: 0 in both
        expected = ndcg_score(y, scores, k=k)
        assert float(ndcg(y, scores, k=k, gain="linear")) == pytest.approx(expected, rel=1e-13)
        # With padding: each list against scikit-learn on its items alone.
        padded = y.copy()
        padded[:, -2:] = -1.0
        per_list = ndcg(padded, scores, k=k, gain="linear", reduction="none")
        for row in range(y.shape[0]):
            assert per_list[row] == pytest.approx(
                ndcg_score(y[row:row + 1, :-2], scores[row:row + 1, :-2], k=k), rel=1e-13)


def brute_force_ndcg(y: np.ndarray, scores: np.ndarray, k: int | None) -> float:
    """Average of the exponential-gain NDCG over every order of the tied scores."""
    gains = 2.0**y - 1.0
    top = y.size if k is None else min(k, y.size)
    ideal = sum(g / math.log2(2 + r) for r, g in enumerate(sorted(gains, reverse=True)[:top]))
    if ideal == 0:
        return 0.0
    values = []
    for order in itertools.permutations(range(y.size)):
        if all(scores[order[r]] >= scores[order[r + 1]] for r in range(y.size - 1)):
            values.append(sum(gains[order[r]] / math.log2(2 + r) for r in range(top)) / ideal)
    return float(np.mean(values))


def test_ndcg_with_exponential_gains_and_ties_by_enumeration() -> None:
    y, scores = random_lists(16, n=6, size=5)
    for k in (None, 2):
        per_list = ndcg(y, scores, k=k, reduction="none")
        for row in range(y.shape[0]):
            assert per_list[row] == pytest.approx(brute_force_ndcg(y[row], scores[row], k),
                                                  rel=1e-13)
    # By hand: relevance [3, 2, 0], scores put item 1 first: DCG = 3 + 7/log2(3),
    # IDCG = 7 + 3/log2(3).
    value = float(ndcg(np.array([[3.0, 2.0, 0.0]]), np.array([[0.5, 0.9, 0.1]])))
    assert value == pytest.approx((3.0 + 7.0 / math.log2(3)) / (7.0 + 3.0 / math.log2(3)))


def test_average_precision_matches_sklearn_per_list() -> None:
    from sklearn.metrics import average_precision_score

    y, scores = random_lists(17)
    y[3] = -1.0
    y[3, 0] = 2.0  # one item
    y[5, :3] = -1.0
    per_list = average_precision(y, scores, reduction="none")
    for row in range(y.shape[0]):
        keep = y[row] >= 0
        relevant = y[row, keep] > 0
        expected = average_precision_score(relevant, scores[row, keep]) if relevant.any() else 0.0
        assert per_list[row] == pytest.approx(expected, rel=1e-13), row
    assert float(mean_average_precision(y, scores)) == pytest.approx(float(np.mean(per_list)))
    # By hand, no ties: relevant items at ranks 1 and 3: AP = (1/1 + 2/3) / 2.
    assert float(average_precision(np.array([[1.0, 0.0, 1.0]]), np.array([[3.0, 2.0, 1.0]]))
                 ) == pytest.approx(5.0 / 6.0)


def brute_force_mrr(y: np.ndarray, scores: np.ndarray) -> float:
    values = []
    for order in itertools.permutations(range(y.size)):
        if all(scores[order[r]] >= scores[order[r + 1]] for r in range(y.size - 1)):
            first = next((r for r in range(y.size) if y[order[r]] > 0), None)
            values.append(0.0 if first is None else 1.0 / (first + 1))
    return float(np.mean(values))


def test_mrr_by_hand_and_by_enumeration_of_ties() -> None:
    # First relevant item at rank 3: 1/3. Padding is skipped.
    assert float(mrr(np.array([[0.0, 0.0, 1.0, -1.0]]), np.array([[3.0, 2.0, 1.0, 9.0]]))
                 ) == pytest.approx(1.0 / 3.0)
    y, scores = random_lists(18, n=10, size=5)
    y[0] = 0.0
    per_list = mrr(y, scores, reduction="none")
    assert per_list[0] == 0.0
    for row in range(y.shape[0]):
        assert per_list[row] == pytest.approx(brute_force_mrr(y[row], scores[row]), rel=1e-13)


def test_metrics_reject_bad_input_and_handle_padding_lists() -> None:
    y, scores = random_lists(19, n=3, size=4)
    y[1] = -1.0
    for metric in (ndcg, average_precision, mrr):
        per_list = metric(y, scores, reduction="none")
        assert np.isnan(per_list[1]) and np.all(np.isfinite(per_list[[0, 2]]))
        assert float(metric(y, scores)) == pytest.approx(float(np.mean(per_list[[0, 2]])))
        with pytest.raises(ValueError, match="every list is padding"):
            metric(y[1:2], scores[1:2])
        with pytest.raises(ValueError, match=r"y_score .* must have y_true's shape"):
            metric(y, scores[:, :3])
        with pytest.raises(ValueError, match=r"shape \(n_lists, list_size\)"):
            metric(y[0], scores[0])
        with pytest.raises(ValueError, match="graded relevance >= 0"):
            metric(np.array([[-3.0, 1.0]]), np.array([[0.0, 1.0]]))
        with pytest.raises(ValueError, match="reduction"):
            metric(y, scores, reduction="sum")
    with pytest.raises(ValueError, match="k must be a positive integer"):
        ndcg(y, scores, k=0)
    with pytest.raises(ValueError, match="gain must be one of"):
        ndcg(y, scores, gain="log")


def test_metrics_accept_other_array_libraries() -> None:
    torch = pytest.importorskip("torch")
    y, scores = random_lists(20)
    for metric in (ndcg, average_precision, mrr):
        assert float(metric(torch.from_numpy(y), torch.from_numpy(scores))) == float(
            metric(y, scores))


# ---------------------------------------------------------------- alignment
@pytest.mark.parametrize("name", RANKING)
def test_each_ranking_loss_tracks_ndcg_at_10(name: str) -> None:
    # The toy problem of losskit.analysis._rank_alignment: a linear scorer of item
    # features; lower loss must go with higher NDCG@10 across candidate scorers
    # (measured Spearman 0.89 to 1.0) and along the fit's iterates (0.41 to 0.96).
    result = lk.alignment(lk.get(name), "ndcg@10")
    assert result.greater_is_better and result.metric == "ndcg@10"
    assert result.spearman > 0.8, str(result)
    assert result.path_spearman > 0.3, str(result)
    fitted = max(row["metric"] for row in result.table)
    first = result.path[0]["metric"]  # the random starting scorer
    assert fitted > first + 0.1, (fitted, first)


def test_ranking_alignment_with_data_and_a_misaligned_metric() -> None:
    from losskit.analysis._rank_alignment import toy_ranking_problem

    X, y = toy_ranking_problem(seed=3, n_lists=30)
    result = lk.alignment(lk.get("listnet"), "map", X=X, y=y, candidates=10)
    assert len(result.table) == 10 and result.spearman > 0.5

    def ndcg_upside_down(y_true: np.ndarray, y_score: np.ndarray) -> float:
        return float(ndcg(y_true, -y_score))

    result = lk.alignment(lk.get("listnet"), ndcg_upside_down, X=X, y=y,
                          greater_is_better=True)
    assert result.spearman < -0.5
    with pytest.raises(ValueError, match="unknown ranking metric 'mae'"):
        lk.alignment(lk.get("listnet"), "mae")
    with pytest.raises(ValueError, match="X must have shape"):
        lk.alignment(lk.get("listnet"), "ndcg", X=X[:, :, 0], y=y)
    with pytest.raises(ValueError, match="needs both X"):
        lk.alignment(lk.get("listnet"), "ndcg", y=y)


def test_a_weighted_sum_of_ranking_losses_is_a_structured_loss() -> None:
    listnet, lambda_loss = lk.get("listnet"), lk.get("lambda_loss")
    blend = 0.3 * listnet + 0.7 * lambda_loss
    assert not blend.pointwise
    s, y = listnet.example(5, seed=21)
    np.testing.assert_allclose(blend.gradient(s, y), 0.3 * listnet.gradient(s, y)
                               + 0.7 * lambda_loss.gradient(s, y), rtol=1e-14)
    report = lk.check(blend, checks=["gradient", "hessian", "convexity"])
    assert report.passed and report["gradient"].status == "pass", str(report)
    with pytest.raises(ValueError, match="cannot combine"):
        listnet + lk.get("cross_entropy")


def test_large_grades_do_not_overflow_the_gains() -> None:
    # 2^300 overflows float32; the gains are scaled by 2^-max within each list, which
    # cancels in NDCG: float32 results agree with the float64 loop references.
    y = np.array([[300.0, 200.0, 0.0, 1.0, -1.0], [3.0, 2.0, 0.0, 1.0, 1.0]])
    s = np.array([[0.0, 1.0, 2.0, 3.0, 0.0], [0.5, -1.0, 2.0, 0.0, 0.3]])
    approx = lk.get("approx_ndcg", alpha=1.0)
    lambda_loss = lk.get("lambda_loss")
    for row in range(2):
        args = (s[row:row + 1].astype(np.float32), y[row:row + 1].astype(np.float32))
        assert approx(*args) == pytest.approx(approx_ndcg_reference(s[row], y[row], 1.0),
                                              rel=1e-5)
        assert lambda_loss(*args) == pytest.approx(
            lambda_loss_reference(s[row], y[row], "ndcg_loss2pp", 10.0, 1.0), rel=1e-5)
        assert np.all(np.isfinite(lambda_loss.gradient(*args)))
    big = np.array([[2000.0, 3.0, 0.0]])
    assert float(ndcg(big, np.array([[0.0, 1.0, 2.0]]))) == pytest.approx(0.5, rel=1e-12)
