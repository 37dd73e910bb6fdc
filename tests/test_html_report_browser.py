"""The HTML plan report in a real headless Chromium: it lays out, every section renders, nothing runs.

Skipped where Debian's ``chromium`` is not installed at /usr/bin/chromium (CI installs it with apt).
The screenshot is kept under ``tests/artifacts/`` (or ``$CAMPAIGN_PLANNER_TEST_ARTIFACTS``) for a look.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from campaign_planner.render import render_plan
from tests.test_render import FLAGS, full_plan

CHROMIUM = Path("/usr/bin/chromium")
REPO_ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 60
HEADINGS = [
    "Flags (2): read these first",
    "Summary",
    "Brief",
    "Assumptions and open questions",
    "Segments",
    "Messaging",
    "Forecast",
    "Whom to target",
    "Budget",
    "Measurement",
    "Risks",
    "Rationale",
    "Provenance",
]
CHART_LABELS = [
    "Forecast intervals: incremental_conversions",
    "Budget allocation by channel",
    "Response curve: Instagram",
    "Response curve: Paid search",
]
# Lines Chromium writes to stderr (with --enable-logging=stderr) for page console messages or JS errors.
CONSOLE_ERROR = re.compile(r"CONSOLE|Uncaught|SyntaxError|ReferenceError|TypeError")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.is_file(),
    reason=f"headless browser check needs Debian's chromium at {CHROMIUM} (apt-get install chromium)",
)


@dataclass(frozen=True)
class BrowserRun:
    stdout: str
    stderr: str


def _artifacts_dir() -> Path:
    directory = Path(os.environ.get("CAMPAIGN_PLANNER_TEST_ARTIFACTS") or REPO_ROOT / "tests" / "artifacts")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _chromium(page: Path, profile: Path, *extra: str) -> BrowserRun:
    profile.mkdir(parents=True)
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1280,2400",
        "--enable-logging=stderr",
        "--v=0",
        *extra,
        page.as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    assert result.returncode == 0, f"chromium exited {result.returncode}:\n{result.stderr[-3000:]}"
    return BrowserRun(stdout=result.stdout, stderr=result.stderr)


def _console_errors(run: BrowserRun) -> list[str]:
    return [line for line in run.stderr.splitlines() if CONSOLE_ERROR.search(line)]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The full plan (flags, charts and the hostile review quote) written as an HTML page."""
    page = tmp_path_factory.mktemp("report") / "plan_report.html"
    page.write_text(render_plan(full_plan(FLAGS), "html"), encoding="utf-8")
    return page


@pytest.fixture(scope="module")
def dom(report: Path, tmp_path_factory: pytest.TempPathFactory) -> BrowserRun:
    return _chromium(report, tmp_path_factory.mktemp("profile-dom") / "profile", "--dump-dom")


def test_report_screenshot_is_written(report: Path, tmp_path: Path) -> None:
    screenshot = _artifacts_dir() / "plan_report.png"
    screenshot.unlink(missing_ok=True)
    run = _chromium(report, tmp_path / "profile", f"--screenshot={screenshot}")
    assert screenshot.is_file(), f"no screenshot at {screenshot}:\n{run.stderr[-3000:]}"
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 20_000, "screenshot is suspiciously small (blank page?)"
    assert _console_errors(run) == []


def test_rendered_dom_has_every_section_and_chart(dom: BrowserRun) -> None:
    headings = [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", heading)).strip()
        for heading in re.findall(r"<h2[^>]*>(.*?)</h2>", dom.stdout, flags=re.DOTALL)
    ]
    assert [heading.removeprefix("⚠ ") for heading in headings] == HEADINGS
    svgs = re.findall(r"<svg\b.*?</svg>", dom.stdout, flags=re.DOTALL)
    labels = [re.search(r'aria-label="([^"]+)"', svg).group(1) for svg in svgs]  # type: ignore[union-attr]
    assert labels == CHART_LABELS
    assert all("<rect" in svg or "<polyline" in svg or "<circle" in svg for svg in svgs)


def test_rendered_dom_shows_the_hostile_quote_as_text_and_runs_nothing(dom: BrowserRun) -> None:
    page = dom.stdout
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "**bold**" in page and "<strong>bold</strong>" not in page
    assert "<script" not in page.lower()
    assert not re.search(r"""\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, flags=re.IGNORECASE)
    assert not re.search(r"\bon[a-z]+\s*=", page, flags=re.IGNORECASE)  # no inline event handlers
    assert _console_errors(dom) == []
