"""Every rule and note a file cites is in the repository (docs/): a clone resolves each citation.

Nothing may point outside the repository (the team's old `../shared` folder) or at an issue of the
project's tracker ("issue 8"), which a clone cannot read: the reason goes in the text instead.
Issues of public repositories stay citable as sources, named with their repository
("microsoft-graph-docs issue 11728").
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE = re.compile(r"\.\./shared\b|/work/shared\b")
ISSUE = re.compile(r"(?P<before>[\w./-]*)[\s(]+issues?\s+#?\d+", re.IGNORECASE)
DOCUMENT = re.compile(r"(?<![\w/])docs/[\w./-]+\.(?:md|txt)\b")
# Public repositories whose issue threads are cited as sources of observed Graph, Celery or
# Playwright behaviour (an owner/name is accepted as is).
PUBLIC_REPOSITORIES = {
    "corso",
    "kombu",
    "microsoft-graph-docs",
    "microsoft-graph-docs-contrib",
    "msgraph-metadata",
    "msgraph-sdk-dotnet",
}


def tracked_text_files() -> list[Path]:
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    files = []
    for name in names.splitlines():
        path = ROOT / name
        # This file names the patterns it looks for, so it is the one file not read.
        if path.is_file() and path != Path(__file__) and path.suffix not in {".png", ".ico", ".woff2", ".mo"}:
            files.append(path)
    return files


def citations(pattern: re.Pattern, accept=lambda match: False) -> list[str]:
    found = []
    for path in tracked_text_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            for match in pattern.finditer(line):
                if not accept(match):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    return found


def is_public_repository_issue(match: re.Match) -> bool:
    before = match.group("before")
    return "/" in before or before in PUBLIC_REPOSITORIES


def test_no_file_cites_a_folder_outside_the_repository():
    assert citations(OUTSIDE) == []


def test_no_file_cites_an_issue_of_the_projects_tracker():
    assert citations(ISSUE, accept=is_public_repository_issue) == []


def test_every_cited_document_is_in_the_repository():
    cited = citations(DOCUMENT, accept=lambda match: (ROOT / match.group(0).rstrip(".")).is_file())
    assert cited == []
