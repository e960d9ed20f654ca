"""The ``losskit`` command line: ``losskit list`` and ``losskit show NAME``.

Built from the registry, so a newly registered loss appears without touching this
file. typer and rich (the ``cli`` extra) are imported here only, never by
``import losskit``; without them ``main()`` says what to install and exits 2.
"""

from __future__ import annotations

import inspect
import math
import sys
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
        lipschitz = "none (gradient unbounded)"
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
    ) -> None:
        """Formula, gradient, Hessian, properties and distribution of one loss."""
        try:
            loss = build_loss(name, param)
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

    return app


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
