"""The ``losskit`` commands that fit and draw: ``compare``, ``recommend``, ``plot``,
``landscape``, and the figure of ``show --plot``.

``losskit.cli.make_app`` adds them to the application; they share its one-line error
convention (``losskit: error: ...``, exit status 2, no traceback).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from losskit.cli import UsageError, build_loss, parse_value
from losskit.core import Loss

if TYPE_CHECKING:
    import typer
    from rich.console import Console as RichConsole

__all__ = ["add_commands", "figure_path", "parse_loss_spec", "save_loss_figure"]

DEFAULT_REPORT = "losskit-report.html"
TASK_CHOICES = ("regression", "count", "positive", "binary", "multiclass")
MODEL_CHOICES = ("linear", "xgboost", "lightgbm")
FIGURE_SUFFIXES = (".png", ".svg", ".pdf", ".jpg", ".jpeg")


def parse_loss_spec(spec: str) -> Loss:
    """``"huber"``, ``"huber:delta=2"`` or ``"quantile:q=0.9:link=log"`` -> a loss."""
    name, *items = spec.strip().split(":")
    if not name:
        raise UsageError(f"a loss is NAME or NAME:KEY=VALUE; got {spec!r}")
    return build_loss(name, items)


def _loss_list(values: list[str]) -> list[Loss]:
    specs = [part.strip() for value in values for part in value.split(",") if part.strip()]
    return [parse_loss_spec(spec) for spec in specs]


def _choice(value: str, choices: tuple[str, ...], option: str) -> str:
    key = value.strip().lower()
    if key not in choices:
        raise UsageError(f"{option} must be one of {', '.join(choices)}; got {value!r}")
    return key


def figure_path(path: str, option: str) -> Path:
    target = Path(path)
    if target.suffix.lower() not in FIGURE_SUFFIXES:
        raise UsageError(f"{option} must end in {', '.join(FIGURE_SUFFIXES)}; got {path!r}")
    if not target.parent.exists():
        raise UsageError(f"{option}: directory {str(target.parent)!r} does not exist")
    return target


def _plot_module() -> Any:
    try:
        import matplotlib  # noqa: F401

        from losskit import plot
    except ImportError:
        raise UsageError('plots need matplotlib: pip install "losskit[plot]"') from None
    return plot


def save_loss_figure(losses: list[Loss], path: Path, *, hessian: bool = False) -> None:
    """Loss curves beside gradient curves (and Hessians with ``hessian``), saved to ``path``."""
    plot = _plot_module()
    from matplotlib.figure import Figure

    columns = 3 if hessian else 2
    figure = Figure(figsize=(5.2 * columns, 4.2), layout="constrained")
    axes = figure.subplots(1, columns)
    named = {_label(loss): loss for loss in losses}
    try:
        plot.losses(named, ax=axes[0])
        plot.gradients(named, ax=axes[1])
        if hessian:
            plot.hessians(named, ax=axes[2])
    except (TypeError, ValueError) as error:
        raise UsageError(str(error)) from None
    _save(figure, path)


def _label(loss: Loss) -> str:
    defaults: dict[str, Any] = {}
    try:
        defaults = type(loss)().get_params()
    except Exception:
        pass
    shown = {k: v for k, v in loss.get_params().items()
             if k != "nan_policy" and defaults.get(k, object()) != v}
    if not shown:
        return loss.name
    return f"{loss.name}({', '.join(f'{k}={v}' for k, v in shown.items())})"


def _save(figure: Any, path: Path) -> None:
    try:
        figure.savefig(path)
    except OSError as error:
        raise UsageError(f"cannot write {str(path)!r}: {error.strerror or error}") from None


def _load_data(data: str | None, target: str | None, task: str | None) -> Any:
    from losskit.data import DataError, dataset_from_table, load, read_table

    try:
        if data is None:
            if target is not None:
                raise UsageError("--target needs DATA: the bundled dataset's target is fixed")
            return load("deliveries")
        table = read_table(data)
        if target is None:
            raise UsageError(f"--target is required with DATA (columns: "
                             f"{', '.join(table.names)})")
        return dataset_from_table(table, target, classes=task in ("binary", "multiclass"))
    except DataError as error:
        raise UsageError(str(error)) from None


def _parse_costs(text: str) -> Any:
    """``"3"`` -> 3.0; ``"under=3,over=1"`` -> ``{"under": 3, "over": 1}``."""
    if not text:
        return None
    if "=" not in text:
        value = parse_value(text)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UsageError(f"--costs must be a ratio or KEY=VALUE pairs (under=3,over=1 or "
                             f"fn=5,fp=1); got {text!r}")
        return float(value)
    costs = {}
    for item in text.split(","):
        key, _, value = item.partition("=")
        number = parse_value(value)
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise UsageError(f"--costs {key.strip()}= must be a number; got {value!r}")
        costs[key.strip()] = float(number)
    return costs


def add_commands(app: typer.Typer, console: Callable[[], RichConsole],
                 fail: Callable[[str], None]) -> None:
    """Register ``compare``, ``recommend``, ``plot`` and ``landscape`` on ``app``."""
    import typer
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table
    from rich.text import Text

    @app.command("compare")
    def compare_command(
        data: str = typer.Argument(
            None, help="A CSV or Parquet file; without it, the bundled deliveries dataset "
                       "(a regression with injected outliers) and a report."),
        target: str = typer.Option(None, "--target", "-t", help="The target column."),
        task: str = typer.Option(
            None, "--task", help="regression, count, positive, binary or multiclass; "
                                 "default: inferred from the target."),
        metric: str = typer.Option(
            None, "--metric", "-m", help="mae, mse, rmse, r2, pinball@0.9, log_loss, "
                                         "accuracy, roc_auc, f1 ...; default: by task."),
        losses: list[str] = typer.Option(  # noqa: B008 - typer's way of declaring options
            [], "--losses", "-l", metavar="NAME[:KEY=VALUE]",
            help="Losses to compare, comma-separated or repeated (huber:delta=2); "
                 "default: the advisor's candidates and the task's default loss."),
        model: str = typer.Option("linear", "--model",
                                  help="linear, xgboost or lightgbm."),
        cv: int = typer.Option(5, "--cv", help="Number of cross-validation folds."),
        seed: int = typer.Option(0, "--seed", help="Seed of the fold assignment."),
        report_path: str = typer.Option(
            None, "--report", "-r", metavar="OUT.html",
            help=f"Write the HTML report here (default without DATA: {DEFAULT_REPORT})."),
        json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    ) -> None:
        """Fit a model with each loss under cross-validation and rank the losses."""
        import numpy as np

        from losskit.compare import compare
        from losskit.metrics._metric import get_metric

        try:
            task_name = None if task is None else _choice(task, TASK_CHOICES, "--task")
            model_name = _choice(model, MODEL_CHOICES, "--model")
            if cv < 2:
                raise UsageError(f"--cv must be at least 2; got {cv}")
            if metric is not None:
                try:
                    get_metric(metric)
                except ValueError as error:
                    raise UsageError(str(error)) from None
            chosen = _loss_list(losses) or None
            dataset = _load_data(data, target, task_name)
            path = report_path if report_path is not None else (
                DEFAULT_REPORT if data is None else None)
            if path is not None and not Path(path).resolve().parent.exists():
                raise UsageError(f"--report: directory {str(Path(path).parent)!r} does not "
                                 "exist")
        except UsageError as error:
            fail(str(error))
            return
        err = Console(stderr=True)
        with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                      TextColumn("{task.completed}/{task.total} fits"), TimeElapsedColumn(),
                      console=err, transient=True,
                      disable=json_output or not err.is_terminal) as bar:
            job = bar.add_task("fitting", total=None)

            def progress(done: int, total: int, label: str) -> None:
                bar.update(job, completed=done, total=total, description=f"fitting {label}")

            try:
                target_values = dataset.y if dataset.classes is None else \
                    np.asarray(dataset.classes, dtype=object)[dataset.y.astype(int)]
                result = compare(dataset.X, target_values, chosen, metric=metric, task=task_name,
                                 model=model_name, cv=cv, seed=seed,
                                 feature_names=dataset.feature_names,
                                 target_name=dataset.target_name, progress=progress)
            except (ValueError, TypeError, ImportError) as error:
                fail(str(error))
                return
        if path is not None:
            from losskit.report import report

            try:
                report(result, path)
            except OSError as error:
                fail(f"cannot write {path!r}: {error.strerror or error}")
        if json_output:
            typer.echo(json.dumps(result.to_dict(), indent=2, default=str))
            return
        out = console()
        for note in dataset.notes:
            out.print(Text(f"note: {note}", style="yellow"))
        if data is None:
            out.print(Text(f"bundled dataset 'deliveries': {dataset.description}", style="dim"))
        source = data or "deliveries"
        out.print(Text(f"{source}: {result.n_samples} rows, target {result.target_name!r}, "
                       f"task {result.task}, model {result.model}, {result.cv}-fold CV"))
        direction = "higher" if result.metric.greater_is_better else "lower"
        table = Table(title=f"{result.metric.name} by loss ({direction} is better)",
                      title_justify="left")
        for column in ("rank", "loss", "mean", "std", "fit time"):
            table.add_column(column, justify="right" if column != "loss" else "left",
                             overflow="fold")
        for row in result.rows:
            style = "bold green" if row.label == result.winner else ""
            if row.error:
                table.add_row("-", Text(row.label), Text(row.error, style="red"), "", "")
            else:
                table.add_row(str(row.rank), Text(row.label, style=style),
                              f"{row.mean:.4g}", f"{row.std:.2g}",
                              f"{row.fit_time * 1000:.1f} ms")
        out.print(table)
        out.print(Text(result.advice))
        if path is not None:
            out.print(Text(f"report written to {path}", style="bold"))

    @app.command("recommend")
    def recommend_command(
        task: str = typer.Option("regression", "--task",
                                 help="regression, quantile, count, positive, binary, "
                                      "multiclass, multilabel, detection, ranking, sequence, "
                                      "metric_learning."),
        outliers: bool = typer.Option(None, "--outliers/--no-outliers",
                                      help="The targets hold outliers (or not)."),
        imbalance: float = typer.Option(
            None, "--imbalance", help="Majority:minority ratio (20) or minority fraction "
                                      "(0.05)."),
        metric: str = typer.Option(None, "--metric", help="The metric you evaluate with."),
        costs: str = typer.Option(
            "", "--costs", help="Asymmetric costs: a ratio (3), under=3,over=1 or fn=5,fp=1."),
        quantile: float = typer.Option(None, "--quantile", help="Quantile level to predict."),
        margins: bool = typer.Option(False, "--margins", help="Want margins, not "
                                                              "probabilities."),
        json_output: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """The seed page's decision table: losses for a task, ranked, with reasons."""
        from losskit.advisor import recommend

        try:
            candidates = recommend(task, outliers=outliers, imbalance=imbalance,
                                   metric=metric, costs=_parse_costs(costs),
                                   quantile=quantile, margins=margins)
        except UsageError as error:
            fail(str(error))
            return
        except (TypeError, ValueError) as error:
            fail(str(error))
            return
        if json_output:
            typer.echo(json.dumps([c.to_dict() for c in candidates], indent=2))
            return
        table = Table(title=f"losses for {task}", title_justify="left")
        for column in ("#", "loss", "score", "reason"):
            table.add_column(column, overflow="fold", no_wrap=column == "loss")
        for rank, candidate in enumerate(candidates, start=1):
            name = candidate.label + ("" if candidate.available else " (not installed)")
            table.add_row(str(rank), Text(name), f"{candidate.score:.2f}",
                          Text(candidate.reason))
        console().print(table)

    @app.command("plot")
    def plot_command(
        names: list[str] = typer.Argument(  # noqa: B008
            ..., metavar="NAME[:KEY=VALUE]...", help="Losses to draw (huber:delta=2)."),
        output: str = typer.Option(..., "--output", "-o", help="The image: .png, .svg, .pdf."),
        hessian: bool = typer.Option(False, "--hessian", help="Add the Hessian curves."),
    ) -> None:
        """Loss and gradient curves of one or more losses, saved to an image."""
        try:
            chosen = _loss_list(names)
            save_loss_figure(chosen, figure_path(output, "--output"), hessian=hessian)
        except UsageError as error:
            fail(str(error))
            return
        typer.echo(f"wrote {output}")

    @app.command("landscape")
    def landscape_command(
        name: str = typer.Argument("squared_error", metavar="NAME[:KEY=VALUE]",
                                   help="The loss (default squared_error)."),
        data: str = typer.Option(None, "--data", help="CSV or Parquet file; default: the "
                                                      "seed page's single point (x=1, y=2)."),
        target: str = typer.Option(None, "--target", "-t", help="The target column."),
        feature: str = typer.Option(None, "--feature", help="The feature on the x-axis "
                                                            "(default: the first)."),
        output: str = typer.Option(..., "--output", "-o", help="The image: .png, .svg, .pdf."),
    ) -> None:
        """The empirical risk over a weight and the bias: surface and contours."""
        import numpy as np

        try:
            loss = parse_loss_spec(name)
            path = figure_path(output, "--output")
            plot = _plot_module()
            if data is None:
                if target is not None or feature is not None:
                    raise UsageError("--target and --feature need --data")
                X, y, ranges = np.array([[1.0]]), np.array([2.0]), ((-2.0, 4.0), (-2.0, 4.0))
                parameters: tuple[Any, Any] = (0, "intercept")
            else:
                dataset = _load_data(data, target, None)
                column = 0
                if feature is not None:
                    if feature not in dataset.feature_names:
                        raise UsageError(f"feature column {feature!r} is not among the "
                                         f"numeric features {dataset.feature_names}")
                    column = dataset.feature_names.index(feature)
                X, y, ranges = dataset.X, dataset.y, None
                parameters = (column, "intercept")
            try:
                figure = plot.landscape(loss, X, y, parameters=parameters, ranges=ranges)
            except (TypeError, ValueError) as error:
                raise UsageError(str(error)) from None
            _save(figure, path)
        except UsageError as error:
            fail(str(error))
            return
        typer.echo(f"wrote {output}")
