"""The registry of losses: canonical names, aliases, ``get`` and ``list_losses``."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from losskit.core import Loss

__all__ = ["get", "list_losses", "loss_class", "register", "unregister"]

_LOSSES: dict[str, type[Loss]] = {}
_ALIASES: dict[str, str] = {}

L = TypeVar("L", bound=type[Loss])


def register(name: str, *, aliases: tuple[str, ...] = ()) -> Callable[[L], L]:
    """Class decorator: enrol a loss under ``name`` (snake_case) and its aliases."""

    def decorate(cls: L) -> L:
        for key in (name, *aliases):
            if key in _LOSSES or key in _ALIASES:
                raise ValueError(f"a loss named {key!r} is already registered")
        cls.name = name
        cls.aliases = tuple(aliases)
        _LOSSES[name] = cls
        for alias in aliases:
            _ALIASES[alias] = name
        return cls

    return decorate


def unregister(name: str) -> type[Loss]:
    """Remove the loss registered under ``name`` (or an alias of it) with its aliases.

    Returns the class, so that it can be registered again. Meant for custom losses
    (``losskit.custom(..., register=True)``) and tests; removing a built-in loss
    hides it from ``get`` and ``list_losses`` for the rest of the process.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str; got {type(name).__name__}")
    key = canonical_name(name)
    cls = _LOSSES.pop(key)
    for alias in [alias for alias, target in _ALIASES.items() if target == key]:
        del _ALIASES[alias]
    return cls


def canonical_name(name: str) -> str:
    key = name.strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in _LOSSES:
        known = sorted([*_LOSSES, *_ALIASES])
        close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(f"unknown loss {name!r}{hint} (lk.list_losses() lists them all)")
    return key


def loss_class(name: str) -> type[Loss]:
    """The class registered under ``name`` or one of its aliases."""
    return _LOSSES[canonical_name(name)]


def get(loss: str | Loss, **params: Any) -> Loss:
    """A loss from its name or alias, with hyperparameters: ``get("huber", delta=2.0)``.

    A ``Loss`` instance is returned as is (``params`` must then be empty).

    >>> get("pinball", q=0.9)
    Quantile(q=0.9)
    >>> get("hubr")
    Traceback (most recent call last):
    ...
    ValueError: unknown loss 'hubr'; did you mean 'huber'? (lk.list_losses() lists them all)
    >>> get("huber", dleta=2.0)
    Traceback (most recent call last):
    ...
    TypeError: 'huber' has no parameter 'dleta'; did you mean 'delta'? (its parameters: ...)
    """
    if isinstance(loss, Loss):
        if params:
            raise TypeError("parameters cannot be given with a Loss instance; "
                            f"got {sorted(params)} for {loss!r}")
        return loss
    if not isinstance(loss, str):
        raise TypeError(f"loss must be a name or a Loss; got {type(loss).__name__}")
    cls = loss_class(loss)
    accepted = [name for name, parameter in inspect.signature(cls.__init__).parameters.items()
                if parameter.kind is inspect.Parameter.KEYWORD_ONLY]
    has_var_keyword = any(parameter.kind is inspect.Parameter.VAR_KEYWORD
                          for parameter in inspect.signature(cls.__init__).parameters.values())
    unknown = [key for key in params if key not in accepted]
    if unknown and not has_var_keyword:
        key = unknown[0]
        close = difflib.get_close_matches(key, accepted, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise TypeError(f"{cls.name!r} has no parameter {key!r}{hint} "
                        f"(its parameters: {', '.join(accepted)})")
    return cls(**params)


def list_losses() -> list[str]:
    """Canonical names of every registered loss, sorted.

    >>> "squared_error" in list_losses() and "mse" not in list_losses()
    True
    """
    return sorted(_LOSSES)


def aliases() -> dict[str, str]:
    """Alias -> canonical name."""
    return dict(sorted(_ALIASES.items()))
