"""The JAX (CPU, ``jax.jit``) competitor: the naive expression, compiled by XLA.

``value`` is ``jit(mean(f(p, y)))``; ``loss_gradient`` is ``jax.vjp`` of the per-sample
losses pulled back with ones (values and gradient in one compiled function);
``gradient_hessian`` is ``jax.jvp`` of ``jax.grad(sum f)`` along ones, which is the
Hessian diagonal of an elementwise loss, under the same conditions as for PyTorch
(skipped for surrogate Hessians and for cross-entropy). Every call ends with
``block_until_ready``. Inputs are copied to JAX arrays before timing. 64-bit mode is
switched on (``jax_enable_x64``) so that float64 stays float64.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks._cases import ALPHA, DELTA, POWER, QUANTILE, Case
from benchmarks._harness import Impl

__all__ = ["impls"]

#: (elementwise function(p, y), whether autodiff's Hessian is losskit's).
Spec = tuple[Callable[[Any, Any], Any], bool]


def _specs(jax: Any) -> dict[str, Spec]:
    jnp = jax.numpy

    def cross_entropy(z: Any, y: Any) -> Any:
        log_p = jax.nn.log_softmax(z, axis=-1)
        return -jnp.take_along_axis(log_p, y[:, None], axis=-1)[:, 0]

    def focal(z: Any, y: Any) -> Any:
        p = jax.nn.sigmoid(z)
        p_t = p * y + (1.0 - p) * (1.0 - y)
        return (jax.nn.softplus(z) - y * z) * (1.0 - p_t) ** 2

    return {
        "squared_error": (lambda p, y: (p - y) ** 2, True),
        "absolute_error": (lambda p, y: jnp.abs(p - y), False),
        "huber": (lambda p, y: jnp.where(jnp.abs(p - y) <= DELTA, 0.5 * (p - y) ** 2,
                                         DELTA * (jnp.abs(p - y) - 0.5 * DELTA)), True),
        "pseudo_huber": (lambda p, y: DELTA**2 * (jnp.sqrt(1.0 + ((p - y) / DELTA) ** 2) - 1.0),
                         True),
        "log_cosh": (lambda p, y: jnp.log(jnp.cosh(p - y)), True),
        "quantile": (lambda p, y: jnp.maximum(-QUANTILE * (p - y), (1.0 - QUANTILE) * (p - y)),
                     False),
        "asymmetric": (lambda p, y: jnp.where(p < y, ALPHA * (y - p), p - y), False),
        "poisson_log": (lambda z, y: jnp.exp(z) - y * z, True),
        "gamma_log": (lambda z, y: z + y * jnp.exp(-z), True),
        "tweedie_log": (lambda z, y: jnp.exp((2 - POWER) * z) / (2 - POWER)
                        - y * jnp.exp((1 - POWER) * z) / (1 - POWER), True),
        "bce_logit": (lambda z, y: jax.nn.softplus(z) - y * z, True),
        "bce_probability": (lambda p, y: -(y * jnp.log(p) + (1.0 - y) * jnp.log1p(-p)), True),
        "cross_entropy": (cross_entropy, False),
        "focal_logit": (focal, True),
        "hinge": (lambda z, y: jnp.maximum(0.0, 1.0 - (2.0 * y - 1.0) * z), False),
    }


def impls(case: Case) -> dict[str, Impl]:
    """The JAX ``Impl`` of each operation of ``case`` (missing: no anchor)."""
    import jax

    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    spec = _specs(jax).get(case.name)
    if spec is None:
        return {}
    elementwise, hessian = spec

    def prepare(inputs: Any) -> tuple[Any, Any]:
        return jax.block_until_ready((jnp.asarray(inputs.y_pred), jnp.asarray(inputs.y_true)))

    @jax.jit
    def value(p: Any, y: Any) -> Any:
        return jnp.mean(elementwise(p, y))

    @jax.jit
    def loss_gradient(p: Any, y: Any) -> Any:
        values, pullback = jax.vjp(lambda q: elementwise(q, y), p)
        return values, pullback(jnp.ones_like(values))[0]

    @jax.jit
    def gradient_hessian(p: Any, y: Any) -> Any:
        gradient = jax.grad(lambda q: jnp.sum(elementwise(q, y)))
        return jax.jvp(gradient, (p,), (jnp.ones_like(p),))

    def blocking(function: Callable[..., Any]) -> Callable[..., Any]:
        return lambda p, y: jax.block_until_ready(function(p, y))

    note = "jit(expression)"
    found = {
        "value": Impl(blocking(value), prepare, note=note),
        "loss_gradient": Impl(blocking(loss_gradient), prepare, note=note + " + vjp"),
    }
    if hessian:
        found["gradient_hessian"] = Impl(blocking(gradient_hessian), prepare,
                                         note=note + " + jvp(grad)")
    return found
