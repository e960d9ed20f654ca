"""scripts/make_gallery.py runs, and docs/gallery.md links every image it draws."""

import re
from pathlib import Path

import pytest

from conftest import load_module

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parent.parent
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)]+)\)")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: The seed page's own figures (three plots and the confidence table) come first.
SEED_FIGURES = ["landscape", "losses_and_gradients", "asymmetric_and_quantile",
                "confidence_penalty"]


def load_script():
    return load_module(ROOT / "scripts" / "make_gallery.py")


def linked(page: Path) -> list[str]:
    return IMAGE.findall(page.read_text())


def test_the_script_draws_every_figure_and_links_it(tmp_path):
    script = load_script()
    written = script.build(tmp_path, fast=True)
    images = sorted(p.relative_to(tmp_path).as_posix() for p in written if p.suffix == ".png")
    assert [entry.slug for entry in script.FIGURES][:4] == SEED_FIGURES
    assert len(images) == len(script.FIGURES)
    assert sorted(p.relative_to(tmp_path).as_posix()
                  for p in (tmp_path / "gallery").iterdir()) == images
    assert sorted(linked(tmp_path / "gallery.md")) == images
    for image in images:
        assert (tmp_path / image).read_bytes()[:8] == PNG_MAGIC
    page = (tmp_path / "gallery.md").read_text()
    assert "lk.plot.landscape(" in page and "fast" in page  # the drawing code is shown


def test_the_committed_gallery_is_complete():
    script = load_script()
    expected = sorted(f"gallery/{entry.slug}.png" for entry in script.FIGURES)
    page = ROOT / "docs" / "gallery.md"
    assert sorted(linked(page)) == expected, (
        "docs/gallery.md is out of date: run python scripts/make_gallery.py")
    on_disk = sorted(f"gallery/{p.name}" for p in (ROOT / "docs" / "gallery").glob("*.png"))
    assert on_disk == expected
    for image in expected:
        data = (ROOT / "docs" / image).read_bytes()
        assert data[:8] == PNG_MAGIC and len(data) < 400_000  # commit-sized
