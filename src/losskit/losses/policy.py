r"""Policy-gradient surrogate losses: REINFORCE with a baseline.

When the metric that matters is not differentiable (exact match, BLEU, NDCG), the
seed page's choosing table sends it to REINFORCE (Williams 1992): sample an action
``a ~ softmax(z)``, observe its reward ``R``, and descend the surrogate
``-(R - b) log pi(a)``, whose gradient is an unbiased estimate of the gradient of
``-E[R]`` for any baseline ``b`` that does not depend on the action.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, NamedTuple

import numpy as np

from losskit import _array, numerics
from losskit._array import can_inspect, fail_where
from losskit._params import check_real
from losskit.core import Properties
from losskit.losses._common import _index_dtype, one_hot
from losskit.losses._structured import Structured
from losskit.registry import register

__all__ = ["Reinforce"]

BASELINES = ("mean", "running", "supplied")


class _Sampled(NamedTuple):
    """Prepared target: the sampled actions as one-hot rows, and their advantages."""

    action: Any  # (n, K) one-hot
    advantage: Any  # (n,) R - b


@register("reinforce", aliases=("policy_gradient", "score_function"))
class Reinforce(Structured):
    r"""The REINFORCE surrogate of a categorical policy (Williams 1992).

    .. math:: L(z, a, R) = -(R - b)\, \log \mathrm{softmax}(z)_a

    ``y_pred`` is ``(n, K)`` logits of the policy; ``y_true`` is ``(n, 2)``: the
    sampled action ``a`` (an index in ``[0, K)``) and its reward ``R`` in each row,
    or ``(n, 3)`` ``[action, reward, baseline]`` with ``baseline="supplied"`` (a
    learned value function, a greedy rollout's reward as in self-critical training).
    The gradient with respect to the logits is ``-(R - b)(onehot(a) - softmax(z))``
    and the Hessian diagonal ``(R - b) p (1 - p)`` (exact; negative where ``R < b``).
    The baseline never carries gradient.

    ``baseline``:

    - a number: that constant (``0`` is plain REINFORCE);
    - ``"mean"`` (default): the mean reward of the batch (unweighted; it includes the
      sample's own reward, so the estimate is biased by ``O(1/n)``);
    - ``"running"``: an exponential moving average of past batches' mean rewards,
      ``b <- momentum b + (1 - momentum) mean(R)``. The loss is then stateful: each
      evaluation (``loss(...)``, ``gradient``, ``loss_gradient`` ...) uses the average
      of the batches before it (the first batch uses its own mean) and then adds its
      own batch, so evaluate each batch once (``loss_gradient`` gives both). The
      state is ``running_baseline`` (None before the first batch) and is not advanced
      for inputs whose values cannot be read (under ``jax.jit``, Dask): pass
      ``baseline="supplied"`` there;
    - ``"supplied"``: the third column of ``y_true``.

    With ``nan_policy="propagate"`` a NaN reward makes a ``"mean"`` baseline NaN, and
    with it every sample of the batch.

    The surrogate's value is not a loss in the usual sense (it is negative when the
    advantage is negative); its gradient is what matters.

    >>> import numpy as np
    >>> logits = np.zeros((2, 2))
    >>> y_true = np.array([[0, 1.0], [1, -1.0]])  # action 0 paid 1, action 1 cost 1
    >>> Reinforce(baseline=0.0).gradient(logits, y_true)  # both favour action 0
    array([[-0.5,  0.5],
           [-0.5,  0.5]])
    """

    formula = r"-(R - b)\log \mathrm{softmax}(z)_a"
    gradient_formula = r"-(R - b)(1[k = a] - p_k)"
    hessian_formula = r"(R - b)\, p_k (1 - p_k) \;\;(\text{diagonal})"
    links = ("softmax",)
    fused_links = frozenset({"softmax"})
    y_pred_meaning = "logits of a categorical policy"

    def __init__(self, *, baseline: float | str | None = "mean", momentum: float = 0.9,
                 link: str | None = "softmax", nan_policy: str = "raise") -> None:
        if baseline is None:
            baseline = 0.0
        if isinstance(baseline, str):
            if baseline not in BASELINES:
                raise ValueError(f"baseline for 'reinforce' must be a number or one of "
                                 f"{list(BASELINES)}; got {baseline!r}")
        elif isinstance(baseline, numbers.Real) and not isinstance(baseline, bool):
            baseline = check_real(baseline, "baseline", owner="reinforce")
        else:
            raise TypeError(f"baseline for 'reinforce' must be a number or one of "
                            f"{list(BASELINES)}; got {baseline!r}")
        self.baseline = baseline
        self.momentum = check_real(momentum, "momentum", low=0.0, high=1.0,
                                   low_inclusive=True, owner="reinforce")
        #: The running mean reward (``baseline="running"``), None before the first batch.
        self.running_baseline: float | None = None
        super().__init__(link=link, nan_policy=nan_policy)

    def _properties(self) -> Properties:
        return Properties(convex=False, smoothness=math.inf, lipschitz=None,
                          bounded_gradient=False, robust=None, hessian="diagonal",
                          statistic="n/a")

    def example(self, n: int = 8, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Logits over 4 actions, actions drawn from the policy, Gaussian rewards."""
        rng = np.random.default_rng(seed)
        logits = rng.normal(0.0, 1.5, size=(n, 4))
        probabilities = numerics.softmax(logits)
        actions = np.array([rng.choice(4, p=row) for row in probabilities], dtype=np.float64)
        columns = [actions, rng.normal(0.5, 1.0, size=n)]
        if self.baseline == "supplied":
            columns.append(rng.normal(0.5, 0.3, size=n))
        return logits, np.stack(columns, axis=1)

    def _prepare(self, y_pred: Any, y_true: Any, sample_weight: Any) -> Any:
        # The running baseline advances while the target is prepared; a call that then
        # fails (a bad sample_weight, checked later) must leave it as it was.
        saved = self.running_baseline
        try:
            return super()._prepare(y_pred, y_true, sample_weight)
        except BaseException:
            self.running_baseline = saved
            raise

    def _prepare_target(self, xp: Any, y_true: Any, y_pred: Any) -> _Sampled:
        if y_pred.ndim != 2 or y_pred.shape[1] < 2:
            raise ValueError(f"y_pred for 'reinforce' must be (n, K) logits with K >= 2; "
                             f"got shape {tuple(y_pred.shape)}")
        n, k = y_pred.shape
        columns = 3 if self.baseline == "supplied" else 2
        layout = "[action, reward, baseline]" if columns == 3 else "[action, reward]"
        if tuple(y_true.shape) != (n, columns):
            hint = (" (a third column needs baseline='supplied')"
                    if tuple(y_true.shape) == (n, 3) else "")
            raise ValueError(f"y_true for 'reinforce' must have shape ({n}, {columns}): "
                             f"{layout} per row; got shape {tuple(y_true.shape)}{hint}")
        target = xp.astype(y_true, y_pred.dtype)
        action = target[:, 0]
        if can_inspect(action):
            fail_where(xp, (action != xp.floor(action)) | (action < 0) | (action >= k),
                       f"y_true[:, 0] for 'reinforce' holds actions and must be whole "
                       f"numbers in [0, {k - 1}]")
        reward = target[:, 1]
        advantage = reward - self._baseline(xp, target, reward)
        indices = xp.astype(action, _index_dtype(xp))
        return _Sampled(one_hot(xp, indices, k, y_pred.dtype, like=y_pred), advantage)

    def _check_target(self, xp: Any, y_true: Any) -> None:
        """Checked while preparing the target."""

    def _baseline(self, xp: Any, target: Any, reward: Any) -> Any:
        if self.baseline == "supplied":
            return target[:, 2]
        if not isinstance(self.baseline, str):
            return self.baseline
        batch_mean = xp.mean(reward)
        if self.baseline == "mean":
            return batch_mean
        # "running": the average of earlier batches, then this batch joins it.
        previous = self.running_baseline
        current = float(_array.to_numpy(batch_mean)) if can_inspect(reward) else math.nan
        if math.isfinite(current):  # lazy values, or a NaN reward, leave the state alone
            self.running_baseline = current if previous is None else (
                self.momentum * previous + (1.0 - self.momentum) * current)
        return batch_mean if previous is None else previous

    def _elementwise(self, xp: Any, y_pred: Any, y_true: _Sampled) -> Any:
        log_p = numerics.log_softmax(y_pred, axis=-1, xp=xp)
        return -y_true.advantage * xp.sum(y_true.action * log_p, axis=-1)

    def _gradient(self, xp: Any, y_pred: Any, y_true: _Sampled) -> Any:
        p = numerics.softmax(y_pred, axis=-1, xp=xp)
        return y_true.advantage[:, None] * (p - y_true.action)

    def _hessian(self, xp: Any, y_pred: Any, y_true: _Sampled) -> Any:
        p = numerics.softmax(y_pred, axis=-1, xp=xp)
        return y_true.advantage[:, None] * p * (1.0 - p)
