"""The API's documentation pages work offline: /docs and /redoc reference only assets the app serves itself
(from the fastapi-offline wheel), and Swagger UI renders in a real Chromium that may reach nothing else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.test_api import _app, _client
from tests.test_api_limits import _serve_like_the_cli

CHROMIUM = Path("/usr/bin/chromium")
ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url\s*:\s*["']([^"']+)["']""")


def _asset_urls(page: str) -> list[str]:
    return [a or b for a, b in ASSET.findall(page)]


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_pages_reference_only_assets_the_app_serves(tmp_path: Path, demo_shop_dir: Path, path: str) -> None:
    with _client(_app(tmp_path, demo_shop_dir)) as client:
        page = client.get(path)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        urls = _asset_urls(page.text)
        assert urls, page.text[:500]
        external = [u for u in urls if re.match(r"^(?:[a-z]+:)?//", u)]
        assert external == [], f"{path} loads from the network: {external}"
        for url in urls:
            asset = client.get(url)
            assert asset.status_code == 200, url
            assert len(asset.content) > 100, url
        assert any(u.endswith(".js") for u in urls)


@pytest.mark.skipif(not CHROMIUM.is_file(), reason=f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)")
def test_swagger_ui_renders_with_no_network(tmp_path: Path, demo_shop_dir: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (dev extra)")
    attempted: list[str] = []
    with _serve_like_the_cli(_app(tmp_path, demo_shop_dir)) as port, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()

            def offline(route: sync_api.Route) -> None:  # the machine has no network: only loopback answers
                if route.request.url.startswith(f"http://127.0.0.1:{port}/"):
                    route.continue_()
                else:
                    attempted.append(route.request.url)
                    route.abort()

            page.route("**/*", offline)
            page.goto(f"http://127.0.0.1:{port}/docs")
            title = page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
            assert title is not None and "Campaign Planner API" in title.inner_text()
            page.wait_for_selector(".opblock-summary-path", timeout=30_000)  # the operations, from /openapi.json
            operations = page.locator(".opblock-summary-path").count()
        finally:
            browser.close()
    print(f"docs_page_offline={'ok' if operations and not attempted else 'failed'} operations={operations}")
    assert attempted == []
    assert operations >= 8
