"""The pages in a real browser: headless Chromium (Debian's ``chromium``) driven by
Playwright against ``era-recon serve`` started on a free port with a fresh SQLite
database (shared/notes/browser-tests.md).

Set ``ERA_RECON_SCREENSHOTS=docs`` to write the documentation's screenshots
(``docs/dashboard.png``, ``docs/upload.png``); otherwise they go to a temporary folder.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.demo.samples import sample_files

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
KEY = re.compile(r"er_[0-9a-f]{12}_[A-Za-z0-9_-]{43,}")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]


@dataclass
class Server:
    url: str
    key: str
    output: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(args: list[str], env: dict[str, str], **kwargs: Any) -> subprocess.Popen[bytes]:
    code = "from app.cli.main import main; main()"
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env, cwd=ROOT, **kwargs)


def _serve(tmp_path: Path, *extra: str, contracts_first: bool = False) -> Iterator[Server]:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'browser.db'}",
        "ERA_RECON_CONTRACTS": str(ROOT / "contracts"),
        "ERA_RECON_SECRET_KEY": "browser-test-secret",
        # the default: Chromium keeps Secure cookies on http://127.0.0.1
        "ERA_RECON_SECURE_COOKIES": "true",
    }
    env.pop("TEST_DATABASE_URL", None)
    if contracts_first:
        loader = _cli(["contracts", "load", str(ROOT / "contracts")], env)
        assert loader.wait(timeout=120) == 0
    output = tmp_path / f"serve-{port}.txt"
    with output.open("wb") as sink:
        process = _cli(
            ["serve", "--port", str(port), *extra], env, stdout=sink, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, output.read_text()
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start: " + output.read_text()
            time.sleep(0.2)
        keys = KEY.findall(output.read_text())
        assert keys, output.read_text()
        yield Server(url=url, key=keys[0], output=output)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    yield from _serve(tmp_path, contracts_first=True)


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[Server]:
    yield from _serve(tmp_path, "--demo")


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    if os.environ.get("ERA_RECON_SCREENSHOTS") == "docs":
        return ROOT / "docs"
    return tmp_path


@pytest.fixture
def browser_page() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, accept_downloads=True
        )
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page
        context.close()
        browser.close()
        # a CSP violation or a failing script shows here
        assert errors == []


def _sign_in(page: Any, server: Server) -> None:
    page.goto(f"{server.url}/signin")
    page.fill("#key", server.key)
    page.click("form[action='/signin'] button[type=submit]")
    page.wait_for_url(f"{server.url}/")


def test_sign_in_upload_two_files_dashboard_and_a_packet_pdf(
    server: Server, browser_page: Any, tmp_path: Path, shots: Path
) -> None:
    page = browser_page
    _sign_in(page, server)
    cookie = next(c for c in page.context.cookies() if c["name"] == "era_recon_session")
    assert cookie["httpOnly"] is True
    assert cookie["secure"] is True
    assert server.key not in cookie["value"]

    samples = {s.name: s.data for s in sample_files(today=date.today())}
    paths = []
    for name in ("summit-mutual-835-a.835", "plains-835-c.835"):
        path = tmp_path / name
        path.write_bytes(samples[name])
        paths.append(str(path))
    page.click("nav >> text=Upload")
    page.set_input_files("#files", paths)
    page.click("form[action='/upload'] button[type=submit]")
    page.wait_for_selector("section.file-result")
    assert page.locator("section.file-result").count() == 2
    assert page.locator("section.file-result.processed").count() == 2
    summit = page.locator("section.file-result", has_text="summit-mutual-835-a.835")
    assert "$512.76" in summit.inner_text()
    assert summit.locator("table.underpaid tbody tr").count() == 7
    page.screenshot(path=str(shots / "upload.png"), full_page=True)

    page.click("nav >> text=Dashboard")
    assert page.locator("svg.bars").count() == 4
    fills = page.locator("#chart-payer rect.bar-fill")
    assert fills.count() == 2
    widths = [fills.nth(i).bounding_box()["width"] for i in range(2)]
    assert min(widths) > 1  # drawn, not just present
    assert "SUMMIT MUTUAL HEALTH" in page.locator("#chart-payer").inner_text()

    page.click("nav >> text=Disputes")
    row = page.locator("tr[data-packet]", has_text="SUMMIT MUTUAL HEALTH")
    with page.expect_download() as download_info:
        row.locator("a", has_text="PDF").click()
    download = download_info.value
    target = tmp_path / "packet.pdf"
    download.save_as(str(target))
    assert target.read_bytes().startswith(b"%PDF")
    assert download.suggested_filename.endswith(".pdf")

    row.locator("button", has_text="Mark filed").click()
    page.wait_for_selector("text=The packet is filed")
    assert "filed" in page.locator(".packet-head").inner_text()


def test_demo_prints_a_link_that_signs_in(
    demo_server: Server, browser_page: Any, shots: Path
) -> None:
    text = demo_server.output.read_text()
    assert "summit-mutual-835-a.835: processed" in text
    link = re.search(r"(http://127\.0\.0\.1:\d+/signin#key=er_\S+)", text)
    assert link
    page = browser_page
    page.goto(link.group(1))
    assert page.input_value("#key") == demo_server.key
    assert "#key" not in page.url  # the key leaves the address bar at once
    page.click("form[action='/signin'] button[type=submit]")
    page.wait_for_url(f"{demo_server.url}/")
    assert page.locator("svg.bars").count() == 4
    assert page.locator("#chart-category rect.bar-fill").count() == 7
    assert page.locator("#expiring tbody tr").count() >= 3
    page.screenshot(path=str(shots / "dashboard.png"), full_page=True)
