"""History, downloads, credits and the admin panel in a real browser (Debian's Chromium driven by Playwright),
through the edge: a generation made through the API is in the history with its thumbnail, reopens with its
results, and its ZIP downloads through the page with the chosen formats; the text-description mode runs from
the page; the admin panel shows to an admin only. Screenshots of the history and admin views land in
docs/screenshots/."""

import io
import json
import shutil
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from .test_cluster import token

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs/screenshots"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
USER = "history-user"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is installed by .ci/run")


def finished(api: str, headers: dict, body: dict) -> str:
    response = httpx.post(f"{api}/generate", json=body, headers=headers, timeout=30)
    assert response.status_code == 202, response.text
    generation_id = response.json()["generationId"]
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        status = httpx.get(f"{api}/generations/{generation_id}", headers=headers, timeout=10).json()["status"]
        if status in ("completed", "partial", "failed", "cancelled"):
            assert status == "completed"
            return generation_id
        time.sleep(0.5)
    raise AssertionError("the generation did not finish")


@pytest.mark.timeout(900)
def test_history_downloads_and_admin_panel_in_the_browser(cluster, edge, tmp_path):
    from playwright.sync_api import sync_playwright

    admin = {"Authorization": f"Bearer {token('history-admin', 'admin')}"}
    httpx.post(
        f"{cluster.api}/admin/users/{USER}/credits", json={"amount": 1000}, headers=admin, timeout=10
    ).raise_for_status()
    headers = {"Authorization": f"Bearer {token(USER)}"}
    project = httpx.post(
        f"{cluster.api}/projects", json={"projectName": "History shoot"}, headers=headers, timeout=10
    ).json()["id"]
    poses = httpx.get(f"{cluster.api}/library?limit=2", headers=headers, timeout=10).json()["items"]
    generation_id = finished(
        cluster.api,
        headers,
        {
            "projectId": project,
            "selectedPoseIds": [p["id"] for p in poses],
            "width": 256,
            "height": 256,
            "steps": 2,
            "seed": 5,
        },
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1100, "height": 1400}, accept_downloads=True)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{edge}/#token={token(USER)}")
        page.wait_for_function("document.getElementById('whoami').textContent.includes('history-user')")
        item = page.locator(f"#history li[data-generation-id='{generation_id}']")
        item.wait_for()
        page.wait_for_function(
            f"document.querySelector(\"#history li[data-generation-id='{generation_id}'] img\").naturalWidth > 0"
        )
        assert page.locator("#admin").is_hidden()  # not an admin
        assert page.locator("#balance").inner_text() == str(1000 - 60)

        # The text-description mode, from the page.
        page.get_by_label("Mode", exact=True).select_option("TEXT_DESCRIPTION")
        page.locator("#text-prompt").fill("a person walking in a park")
        page.get_by_label("Images", exact=True).select_option("1")
        page.get_by_label("Size").select_option("256")
        page.get_by_label("Steps").fill("2")
        page.get_by_role("button", name="Start generation").click()
        page.wait_for_function("document.getElementById('status').textContent.startsWith('Done')", timeout=240_000)
        page.wait_for_function("document.querySelectorAll('#history li').length === 2")
        page.wait_for_function("document.getElementById('balance').textContent === '910'")

        # Reopen the first generation and download its ZIP in two formats through the page.
        item.get_by_role("button").click()
        page.wait_for_function("document.querySelectorAll('#opened-results li img').length === 2")
        page.get_by_label("Instagram Feed (square) (1080×1080, JPEG)").check()
        with page.expect_download() as info:
            page.get_by_role("button", name="Download ZIP").click()
        download = info.value
        assert download.suggested_filename == f"posegen-{generation_id[:8]}.zip"
        target = tmp_path / download.suggested_filename
        download.save_as(target)
        page.wait_for_function("document.getElementById('download-status').textContent.startsWith('Saved')")
        with zipfile.ZipFile(target) as archive:
            manifest = json.loads(archive.read("manifest.json"))
            assert manifest["generationId"] == generation_id
            assert sorted(f["format"] for f in manifest["files"]) == ["instagram_feed"] * 2 + ["original"] * 2
            from PIL import Image

            for entry in manifest["files"]:
                with Image.open(io.BytesIO(archive.read(entry["path"]))) as image:
                    assert image.size == (entry["width"], entry["height"])
        card = page.locator("#opened-results li").first
        card.locator("select").select_option("print_4x6")
        with page.expect_download() as single:
            card.get_by_role("button", name="Download").click()
        assert single.value.suggested_filename.endswith("_print_4x6.png")
        page.locator("section:has(#history-title)").screenshot(path=str(SCREENSHOTS / "history.png"))
        page.locator("section:has(#account-title)").screenshot(path=str(SCREENSHOTS / "credits.png"))

        # The admin sees the admin panel.
        admin_page = browser.new_page(viewport={"width": 1100, "height": 1400})
        admin_page.on("pageerror", lambda error: errors.append(str(error)))
        admin_page.goto(f"{edge}/#token={token('history-admin', 'admin')}")
        admin_page.wait_for_selector("#admin:not([hidden])")
        admin_page.wait_for_function(
            "[...document.querySelectorAll('#admin-users td')].some((td) => td.textContent === 'history-user')"
        )
        admin_page.wait_for_function("document.querySelectorAll('#admin-days .day').length === 14")
        assert admin_page.locator("#admin-generations tbody tr").count() >= 2
        admin_page.locator("#admin").screenshot(path=str(SCREENSHOTS / "admin.png"))
        browser.close()
    assert errors == []
