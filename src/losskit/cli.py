"""The ``losskit`` command line: ``list``, ``show NAME``, ``check``, ``compile``, and
(from ``losskit._cli_compare``) ``compare``, ``recommend``, ``plot`` and ``landscape``.

Built from the registry, so a newly registered loss appears without touching this
file. typer and rich (the ``cli`` extra) are imported here only, never by
``import losskit``; without them ``main()`` says what to install and exits 2.
"""

from __future__ import annotations

import importlib
import inspect
import math
import os
import sys
import time
from typing import TYPE_CHECKING, Any

from losskit.core import Loss
from losskit.registry import canonical_name, list_losses, loss_class

if TYPE_CHECKING:
    import typer

__all__ = ["main", "make_app", "parse_params", "parse_value"]

MISSING_EXTRA = 'the losskit command line needs typer and rich: pip install "losskit[cli]"'


class UsageError(Exception):
    """A mistake in what the user typed: printed as one line, exit status 2."""


# ------------------------------------------------------------ parameter parsing
def parse_value(text: str) -> Any:
    """``"2"`` -> 2, ``"0.5"`` -> 0.5, ``"true"`` -> True, ``"none"`` -> None, else the text."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


def parse_params(items: list[str], cls: type[Loss]) -> dict[str, Any]:
    """``["delta=2", "link=log"]`` -> ``{"delta": 2, "link": "log"}``, checked against ``cls``."""
    accepted = _parameter_names(cls)
    params: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--param expects KEY=VALUE (e.g. --param delta=2); got {item!r}")
        if key not in accepted:
            known = ", ".join(accepted) if accepted else "none"
            raise UsageError(f"'{cls.name}' has no parameter {key!r}; its parameters: {known}")
        if key in params:
            raise UsageError(f"--param {key} is given twice")
        params[key] = parse_value(value)
    return params


def _parameter_names(cls: type[Loss]) -> list[str]:
    signature = inspect.signature(cls.__init__).parameters
    return [name for name, p in signature.items() if p.kind is inspect.Parameter.KEYWORD_ONLY]


def build_loss(name: str, items: list[str]) -> Loss:
    """The loss ``name`` with ``--param`` items; a UsageError for any mistake."""
    try:
        cls = loss_class(name)
    except ValueError as error:
        message = str(error).replace("lk.list_losses() lists", "`losskit list` shows")
        raise UsageError(message) from None
    params = parse_params(items, cls)
    try:
        return cls(**params)
    except (TypeError, ValueError) as error:
        raise UsageError(str(error)) from None


def resolve_target(target: str, items: list[str]) -> Loss:
    """The loss ``losskit check TARGET`` names: a registered name or ``MODULE:ATTRIBUTE``.

    The attribute may be a ``Loss`` instance, a ``Loss`` subclass (built with the
    ``--param`` items) or a plain function ``fn(y_pred, y_true, xp)``, wrapped by
    ``losskit.analysis.custom.custom(fn, name=ATTRIBUTE, **params)``. The current
    directory is importable, as for ``python -m``.
    """
    if ":" not in target:
        return build_loss(target, items)
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise UsageError(f"TARGET must be a loss name or MODULE:ATTRIBUTE; got {target!r}")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise UsageError(f"cannot import module {module_name!r}: {error}") from None
    obj: Any = module
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise UsageError(f"module {module_name!r} has no attribute {attribute!r}") from None
    if isinstance(obj, Loss):
        if items:
            raise UsageError(f"{target} is a Loss instance: --param applies to a loss name or "
                             "a Loss class")
        return obj
    if isinstance(obj, type) and issubclass(obj, Loss):
        params = parse_params(items, obj)
        try:
            return obj(**params)
        except (TypeError, ValueError) as error:
            raise UsageError(str(error)) from None
    if callable(obj):
        return _custom_loss(obj, attribute.split(".")[-1], items)
    raise UsageError(f"{target} is a {type(obj).__name__}, not a Loss, a Loss class or a "
                     "function fn(y_pred, y_true, xp)")


def _custom_loss(fn: Any, name: str, items: list[str]) -> Loss:
    try:
        from losskit.analysis.custom import custom
    except ImportError:
        raise UsageError("a plain function needs losskit.analysis.custom, which this "
                         "installation lacks; pass a Loss instance or class instead") from None
    params: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--param expects KEY=VALUE (e.g. --param convex=true); got {item!r}")
        params[key.strip()] = parse_value(value)
    try:
        return custom(fn, name=name, **params)
    except (TypeError, ValueError) as error:
        raise UsageError(str(error)) from None


# -------------------------------------------------------------- text of facts
def _number(value: float | None) -> str:
    if value is None:
        return "none"
    if math.isinf(value):
        return "∞"
    return f"{value:g}"


def _smoothness(value: float) -> str:
    return "C∞" if math.isinf(value) else f"C{int(value)}"


def _yes_no(value: bool | None) -> str:
    return "n/a" if value is None else ("yes" if value else "no")


def _summary(cls: type[Loss]) -> str:
    doc = inspect.getdoc(cls) or ""
    return doc.strip().split("\n\n")[0].replace("\n", " ").replace("``", "")


def facts(loss: Loss) -> dict[str, str]:
    """The declared facts of ``loss`` as display strings (shared by ``list`` and ``show``)."""
    props = loss.properties
    distribution = loss.distribution
    lipschitz = _number(props.lipschitz)
    if props.lipschitz is None:
        lipschitz = ("none declared (gradient bounded)" if props.bounded_gradient
                     else "none (gradient unbounded)")
    return {
        "convex": _yes_no(props.convex),
        "smoothness": _smoothness(props.smoothness),
        "lipschitz": lipschitz,
        "bounded gradient": _yes_no(props.bounded_gradient),
        "robust": _yes_no(props.robust),
        "hessian": props.hessian,
        "statistic": props.statistic or "?",
        "distribution": str(distribution) if distribution is not None else "none",
    }


COLUMNS = ("name", "aliases", "links", "convex", "smoothness", "Lipschitz", "robust",
           "Hessian", "statistic", "distribution")


def loss_rows() -> list[list[str]]:
    """One row of ``COLUMNS`` per registered loss, built with its default parameters."""
    rows = []
    for name in list_losses():
        cls = loss_class(name)
        row = [name, ", ".join(cls.aliases) or "-", ", ".join(cls.links)]
        try:
            shown = facts(cls())
        except Exception as error:  # a loss that cannot be built with its defaults
            row += [f"({type(error).__name__})"] + [""] * (len(COLUMNS) - 4)
        else:
            row += [shown["convex"], shown["smoothness"], shown["lipschitz"].split(" ")[0],
                    shown["robust"], shown["hessian"], shown["statistic"],
                    shown["distribution"]]
        rows.append(row)
    return rows


def markdown_table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        cells = [f"`{row[0]}`", *(cell.replace("|", "\\|") for cell in row[1:])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ------------------------------------------------------------------- commands
def make_app() -> typer.Typer:
    """The typer application (imports typer and rich)."""
    import typer
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    app = typer.Typer(
        name="losskit",
        help="Loss functions with their gradient, Hessian and mathematics.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    def console() -> Console:
        # A pipe or a test runner gets a wide table, so names are never cut.
        out = Console()
        return out if out.is_terminal else Console(width=max(out.width, 200))

    def fail(message: str) -> None:
        # One plain line (no rich wrapping), so scripts and people can read it.
        typer.echo(f"losskit: error: {message}", err=True)
        raise typer.Exit(code=2)

    @app.command("list")
    def list_command(
        markdown: bool = typer.Option(
            False, "--markdown", help="Print a Markdown table (the one in README.md)."),
    ) -> None:
        """Every registered loss with its declared properties."""
        rows = loss_rows()
        if markdown:
            typer.echo(markdown_table(rows))
            return
        table = Table(title="losskit losses")
        for column in COLUMNS:
            table.add_column(column, no_wrap=column == "name", overflow="fold")
        for row in rows:
            table.add_row(*(Text(cell) for cell in row))
        console().print(table)

    @app.command("show")
    def show_command(
        name: str = typer.Argument(..., help="Loss name or alias, e.g. huber or mse."),
        param: list[str] = typer.Option(  # noqa: B008 - typer's way of declaring options
            [], "--param", "-p", metavar="KEY=VALUE",
            help="A hyperparameter, repeatable: --param delta=2 --param link=log.",
        ),
        verify: bool = typer.Option(
            False, "--verify",
            help="Also verify the declared properties numerically (losskit check); "
                 "exit status 1 if one is contradicted."),
        plot: str = typer.Option(
            None, "--plot", metavar="OUT.png",
            help="Also save the loss and gradient curves (.png, .svg or .pdf)."),
    ) -> None:
        """Formula, gradient, Hessian, properties and distribution of one loss."""
        from losskit._cli_compare import figure_path, save_loss_figure

        try:
            loss = build_loss(name, param)
            if plot is not None:
                save_loss_figure([loss], figure_path(plot, "--plot"))
        except UsageError as error:
            fail(str(error))
            return
        cls = type(loss)
        shown = facts(loss)
        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
        rows = [
            ("loss", cls.formula or "?"),
            ("gradient", cls.gradient_formula or "?"),
            ("Hessian", cls.hessian_formula or "?"),
            ("Hessian kind", shown["hessian"]),
            ("convex", shown["convex"]),
            ("smoothness", shown["smoothness"]),
            ("Lipschitz", shown["lipschitz"]),
            ("bounded gradient", shown["bounded gradient"]),
            ("robust", shown["robust"]),
            ("optimal constant", shown["statistic"]),
            ("distribution", shown["distribution"]),
            ("links", ", ".join(cls.links)),
            ("aliases", ", ".join(cls.aliases) or "-"),
            ("parameters", ", ".join(f"{k}={v!r}" for k, v in loss.get_params().items())),
        ]
        for key, value in rows:
            table.add_row(Text(key), Text(value))
        out = console()
        out.print(Text(f"{canonical_name(name)}: {_summary(cls)}", style="bold"))
        out.print(table)
        if verify:
            report = _run_check(loss, checks=None, metric=None, seed=0, backends=[])
            out.print(Text("verified properties", style="bold"))
            out.print(report_table(report))
            if not report.passed:
                raise typer.Exit(code=1)
        if plot is not None:
            out.print(Text(f"plot written to {plot}"))

    def _run_check(loss: Loss, *, checks: list[str] | None, metric: str | None, seed: int,
                   backends: list[str]) -> Any:
        from losskit.analysis.check import check

        try:
            return check(loss, checks=checks, metric=metric, seed=seed,
                         backends=backends or "auto")
        except (ValueError, ImportError) as error:
            fail(str(error))

    def report_table(report: Any) -> Table:
        styles = {"pass": "green", "fail": "bold red", "info": "yellow", "skip": "dim"}
        table = Table(title=f"check of {report.loss}", title_justify="left")
        for column in ("status", "check", "declared", "found", "evidence"):
            table.add_column(column, no_wrap=column in ("status", "check"),
                             overflow="fold")
        for finding in report.findings:
            table.add_row(Text(finding.status.upper(), style=styles[finding.status]),
                          Text(finding.name), Text(_shown(finding.declared)),
                          Text(_shown(finding.found)), Text(finding.message))
        return table

    @app.command("check")
    def check_command(
        target: str = typer.Argument(
            ..., help="A loss name (huber, mse ...) or MODULE:ATTRIBUTE naming a Loss "
                      "instance, a Loss class or a function fn(y_pred, y_true, xp)."),
        param: list[str] = typer.Option(  # noqa: B008 - typer's way of declaring options
            [], "--param", "-p", metavar="KEY=VALUE",
            help="A hyperparameter (or, for a plain function, a declared fact such as "
                 "convex=true), repeatable."),
        only: list[str] = typer.Option(  # noqa: B008
            [], "--check", "-c", metavar="NAME",
            help="Run only this check, repeatable: gradient, hessian, convexity, "
                 "smoothness, lipschitz, bounded_gradient, robustness, statistic, "
                 "stability, convergence."),
        metric: str = typer.Option(
            "", "--metric", help="Also check alignment with a metric: mae, mse, accuracy, "
                                 "f1, log_loss."),
        backend: list[str] = typer.Option(  # noqa: B008
            [], "--backend", metavar="NAME",
            help="Autodiff reference, repeatable: torch, jax, or fd (finite differences); "
                 "default: every one installed."),
        seed: int = typer.Option(0, "--seed", help="Seed of the random probes."),
        json_output: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    ) -> None:
        """Verify a loss's declared properties numerically; exit status 1 if one fails."""
        try:
            loss = resolve_target(target, param)
        except UsageError as error:
            fail(str(error))
            return
        report = _run_check(loss, checks=list(only) or None, metric=metric or None,
                            seed=seed, backends=list(backend))
        if json_output:
            import json

            typer.echo(json.dumps(report.to_dict(), indent=2, default=str))
        else:
            out = console()
            out.print(report_table(report))
            counts = {s: sum(f.status == s for f in report.findings)
                      for s in ("pass", "fail", "info", "skip")}
            out.print(Text(f"{counts['pass']} passed, {counts['fail']} failed, "
                           f"{counts['info']} info, {counts['skip']} skipped "
                           f"({report.seconds:.2f} s)"))
        if not report.passed:
            raise typer.Exit(code=1)

    @app.command("compile")
    def compile_command(
        dtype: str = typer.Option(
            "both", "--dtype", help="float32, float64 or both."),
        jobs: int = typer.Option(
            0, "--jobs", "-j", help="Processes sharing the work (default: the usable cores)."),
    ) -> None:
        """Compile every fast-path kernel now, into numba's cache (for an image or CI)."""
        from losskit._fast import _compile

        if dtype not in ("float32", "float64", "both"):
            fail(f"--dtype must be float32, float64 or both; got {dtype!r}")
        if jobs < 0:
            fail(f"--jobs must be a positive integer (0: the usable cores); got {jobs}")
        if not _compile.groups():
            fail('the fast path needs numba: pip install "losskit[fast]"')
        dtypes = _compile.DTYPES if dtype == "both" else (dtype,)
        start = time.perf_counter()
        compiled = _compile.compile_kernels(dtypes=dtypes, jobs=jobs or _compile.default_jobs())
        elapsed = time.perf_counter() - start
        losses = sorted({done.loss for done in compiled})
        twins = "serial and parallel" if any(done.parallel for done in compiled) else "serial"
        typer.echo(f"{len(losses)} losses, {'/'.join(dtypes)}, {twins}: kernels compiled or "
                   f"loaded from numba's cache in {elapsed:.1f} s")
        typer.echo(f"losses: {', '.join(losses)}")

    from losskit._cli_compare import add_commands

    add_commands(app, console, fail)
    return app


def _shown(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return _number(value) if math.isinf(value) else f"{value:.6g}"
    return str(value)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``losskit`` command (and of ``python -m losskit``)."""
    try:
        import rich  # noqa: F401
        import typer  # noqa: F401
    except ImportError:
        print(f"losskit: {MISSING_EXTRA}", file=sys.stderr)
        raise SystemExit(2) from None
    make_app()(args=argv, prog_name="losskit")


if __name__ == "__main__":  # pragma: no cover
    main()
