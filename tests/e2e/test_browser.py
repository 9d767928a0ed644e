"""The web page in a real browser (Debian's Chromium driven by Playwright; no browser download), loaded
through the edge compose ships, as a user of the compose deployment sees it: select two poses, start a
generation, watch the progress bar move (live events over the page's own origin) and two images appear."""

import shutil
from pathlib import Path

import httpx
import pytest

from .test_cluster import token

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs/screenshots/generation.png"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is installed by .ci/run")


def test_a_generation_from_the_web_page_through_the_edge(cluster, edge, tmp_path):
    from PIL import Image
    from playwright.sync_api import sync_playwright

    avatar = tmp_path / "me.png"
    Image.new("RGB", (120, 160), (200, 150, 120)).save(avatar)

    httpx.post(
        f"{cluster.api}/admin/users/browser-user/credits",
        json={"amount": 1000},
        headers={"Authorization": f"Bearer {token('browser-admin', 'admin')}"},
        timeout=10,
    ).raise_for_status()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1100, "height": 1500})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{edge}/#token={token('browser-user')}")
        page.wait_for_selector(".pose img[src^='blob:']")
        page.wait_for_function("document.getElementById('whoami').textContent.includes('browser-user')")
        page.get_by_label("New project").fill("Browser shoot")
        page.get_by_role("button", name="Create").click()
        page.wait_for_function("document.getElementById('project').options.length > 0")
        page.locator("#avatar").set_input_files(str(avatar))
        page.get_by_role("button", name="Upload").click()
        page.wait_for_selector("#avatar-preview:not([hidden])")
        page.get_by_label("Identity strength").fill("0.8")
        boxes = page.locator(".pose input[type=checkbox]")
        boxes.nth(0).check()
        boxes.nth(1).check()
        page.get_by_label("Size").select_option("256")
        page.get_by_label("Steps").fill("8")
        page.get_by_role("button", name="Start generation").click()
        page.wait_for_function("document.getElementById('overall').value > 0", timeout=120_000)
        page.wait_for_function(
            "document.querySelectorAll('.job.done img[src*=\"/files/\"]').length === 2", timeout=120_000
        )
        page.wait_for_function("document.getElementById('status').textContent.startsWith('Done')")
        assert page.get_attribute("#generation-avatar", "alt") == "Avatar used, identity strength 0.8"
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        downloads = page.locator(".job.done a[download]")
        assert downloads.count() == 2
        assert httpx.get(downloads.nth(0).get_attribute("href"), timeout=10).status_code == 200
        page.set_viewport_size({"width": 390, "height": 844})
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling on a phone"
        page.screenshot(path=str(SCREENSHOT.with_name("phone.png")))
        browser.close()
    assert errors == []
