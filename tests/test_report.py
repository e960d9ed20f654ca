"""``lk.report``: one self-contained HTML file, checked in headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import losskit as lk

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium"
                                        if Path("/usr/bin/chromium").exists() else None)
HOSTILE = '<script>alert("x")</script>&"col'


@pytest.fixture(scope="module")
def comparison() -> lk.Comparison:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 2))
    y = 2.0 * X[:, 0] - X[:, 1] + rng.normal(0.0, 0.5, size=150)
    y[:12] += 25.0
    return lk.compare(X, y, ["squared_error", "huber", "absolute_error"], cv=3,
                      feature_names=["distance", HOSTILE], target_name="minutes<b>")


@pytest.fixture(scope="module")
def page(comparison: lk.Comparison) -> str:
    return lk.report(comparison)


def test_report_holds_the_table_the_advice_and_the_reasons(
        comparison: lk.Comparison, page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    for row in comparison.rows:
        assert f"<code>{row.label}</code>" in page
        assert f"{row.mean:.4g}" in page
    assert "Winner: <code>" + str(comparison.winner) in page
    assert "not robust" in page  # from the advice
    for candidate in comparison.recommendations:
        assert candidate.label in page
    assert page.count('class="plot"') == 4 if _has_matplotlib() else 2


def test_charts_have_hover_text(comparison: lk.Comparison, page: str) -> None:
    for row in comparison.rows:
        assert f"<title>{row.label}: mae = {row.mean:.4g} ± {row.std:.4g}</title>" in page
        for fold, score in enumerate(row.scores, start=1):
            assert f"<title>{row.label}, fold {fold}: mae = {score:.4g}</title>" in page


def test_a_loss_that_failed_is_shown_with_its_error(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 2))
    y = X[:, 0] - 5.0  # negative: outside Gamma's domain
    failed = lk.compare(X, y, ["gamma", "huber"], cv=3)
    text = lk.report(failed, tmp_path / "failed.html")
    assert "not scored" in text and 'class="error"' in text
    assert "gamma" in text and failed.row("gamma").error.split("'")[0] in text  # type: ignore[union-attr]


def test_user_text_is_escaped(page: str) -> None:
    assert HOSTILE not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&quot;col" in page
    assert "minutes&lt;b&gt;" in page and "minutes<b>" not in page
    assert page.count("<script>") == 1  # only the report's own render check


def test_nothing_is_fetched_from_the_network(page: str) -> None:
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page, flags=re.I)
    assert "@import" not in page and "<link" not in page
    assert not re.search(r"url\(\s*['\"]?https?:", page)


def test_report_writes_the_file(comparison: lk.Comparison, tmp_path: Path) -> None:
    path = tmp_path / "out.html"
    text = lk.report(comparison, path, title="My title")
    assert path.read_text(encoding="utf-8") == text
    assert "<title>My title</title>" in text
    without = lk.report(comparison, plots=False)
    assert without.count('class="plot"') == 2


def test_report_rejects_other_objects() -> None:
    with pytest.raises(TypeError, match=r"comparison must be what losskit\.compare returns"):
        lk.report({"table": []})  # type: ignore[arg-type]


def _has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


# ------------------------------------------------------------ headless Chromium
def render(path: Path, profile: Path) -> tuple[str, list[str]]:
    """The DOM after load, and the console messages Chromium logged."""
    assert CHROMIUM is not None
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync",
               "--host-resolver-rules=MAP * ~NOTFOUND",  # any network fetch fails loudly
               f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
               "--virtual-time-budget=5000", "--dump-dom", path.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return done.stdout, console


def plots_rendered(dom: str) -> tuple[int, int]:
    body = re.search(r"<body([^>]*)>", dom)
    assert body is not None, dom[:500]
    total = re.search(r'data-plots="(\d+)"', body.group(1))
    rendered = re.search(r'data-plots-rendered="(\d+)"', body.group(1))
    assert total and rendered, f"the render check did not run: {body.group(0)}"
    return int(total.group(1)), int(rendered.group(1))


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs "
                                              "Debian's chromium package)")
def test_report_renders_every_plot_in_chromium_without_console_errors(
        comparison: lk.Comparison, tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    lk.report(comparison, path)
    dom, console = render(path, tmp_path / "profile")
    total, rendered = plots_rendered(dom)
    assert total == (4 if _has_matplotlib() else 2)
    assert rendered == total
    assert console == [], console
    assert 'data-failed="true"' not in dom


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_the_chromium_check_catches_a_broken_page(page: str, tmp_path: Path) -> None:
    # The same check on a page with a broken image and a script error must fail.
    broken = page.replace('<h2>Comparison</h2>',
                          '<img class="plot" src="data:image/png;base64,AAAA">'
                          "<script>undefinedFunction();</script><h2>Comparison</h2>", 1)
    path = tmp_path / "broken.html"
    path.write_text(broken, encoding="utf-8")
    dom, console = render(path, tmp_path / "profile")
    total, rendered = plots_rendered(dom)
    assert rendered == total - 1
    assert 'data-failed="true"' in dom
    assert any("undefinedFunction" in line for line in console)
