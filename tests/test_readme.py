"""The README tells the truth: its commands are CI's, its links point at real notebooks."""

from __future__ import annotations

import re
import urllib.parse

from course_lib import authoring
from tests.conftest import NOTEBOOKS, ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_ci_runs_the_readme_test_command():
    ci_script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in README and "make lab" in README
    commands = [line.strip() for line in ci_script.splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert commands[-2:] == ["make test", "make test-floor"]
    assert "make test-floor" in README


def test_every_chapter_notebook_has_a_row_with_working_links():
    slug = urllib.parse.urlparse(authoring.REPOSITORY).path.strip("/")
    for path in NOTEBOOKS:
        relative = f"notebooks/{path.name}"
        rows = [line for line in README.splitlines() if line.startswith("|") and relative in line]
        assert rows, f"README has no chapter row for {relative}"
        row = rows[0]
        assert f"colab.research.google.com/github/{slug}/blob/main/{relative}" in row
        assert f"mybinder.org/v2/gh/{slug}/HEAD?labpath={urllib.parse.quote(relative, safe='')}" in row


def test_relative_links_in_the_readme_exist():
    for target in re.findall(r"\]\(((?!https?://)[^)#]+)\)", README):
        assert (ROOT / target).exists(), f"README links to {target}, which does not exist"
