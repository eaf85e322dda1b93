"""The README and docs/ as their readers meet them: every relative link leads somewhere, and the
quick start's commands are the ones the tests run."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from doccommands import documented_shapes, shell_block
from test_serve import MadeSystem

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)|<img [^>]*src=\"([^\"]+)\"")


def anchor(heading: str) -> str:
    """GitHub's id for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = heading.strip().lower()
    text = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LN")
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return {anchor(m) for m in re.findall(r"^#+ (.+)$", text, re.M)}


def relative_links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    found = [a or b for a, b in LINK.findall(text)]
    return [link for link in found if not re.match(r"[a-z]+:", link)]


def test_the_pages_have_links_to_check():
    assert len(PAGES) >= 10
    assert len(relative_links(ROOT / "README.md")) >= 10


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_resolves(page):
    broken = []
    for link in relative_links(page):
        path, _, fragment = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        missing_anchor = fragment and target.suffix == ".md" and fragment not in anchors(target)
        if not target.exists() or missing_anchor:
            broken.append(link)
    assert not broken, f"{page.name}: {broken}"


def test_the_anchor_rule_is_githubs():
    assert anchor("Permissions of each function") == "permissions-of-each-function"
    assert anchor("The `comnist` command") == "the-comnist-command"
    assert anchor("2026-11-27: why nothing of this lifts precision") == (
        "2026-11-27-why-nothing-of-this-lifts-precision"
    )


def test_the_readme_stays_a_front_door():
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 200


def test_the_quick_start_is_what_the_tests_and_ci_run():
    commands = shell_block(ROOT / "README.md", "## Quick start")
    assert commands == ["make run", "make test"]
    # make run, as test_serve starts it (its folders and port added) ...
    assert MadeSystem(Path("d"), Path("s")).command()[:2] == ["make", "run"]
    # ... and make test, which is all CI runs.
    ci = (ROOT / ".ci" / "run").read_text().split()
    assert ci[-2:] == ["make", "test"]


def test_the_deploy_block_is_parsed_as_the_rehearsal_compares_it():
    shapes = documented_shapes(ROOT / "docs" / "deploying.md", "# Deploying to AWS", ("make",))
    assert [shape[:2] for shape in shapes] == [
        ("comnist", "bootstrap"),
        ("chalice", "deploy"),
        ("comnist", "bootstrap"),
        ("build_site.py", "--api-url"),
    ]
