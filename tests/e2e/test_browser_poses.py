"""Poses from a photo on the web page, in a real browser (Debian's Chromium driven by Playwright): upload a
photo, see the skeleton over it, save it as a pose that is then selected for a generation and listed as
yours; a photo without a person says so; request a pose with a reference photo and, as an admin, approve
it, and the requester's page hears about it."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from .test_cluster import token

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs/screenshots/poses.png"
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is installed by .ci/run")
pytest.importorskip("mediapipe", reason="needs the extract extra and requirements/no-deps.txt")
skimage_data = pytest.importorskip("skimage.data")


def save_photo(name: str, path: Path) -> Path:
    from PIL import Image

    pixels = getattr(skimage_data, name)()
    if pixels.ndim == 2:
        pixels = np.stack([pixels] * 3, axis=-1)
    Image.fromarray(pixels).save(path, format="JPEG", quality=92)
    return path


def test_a_pose_from_a_photo_and_a_reviewed_request_on_the_web_page(cluster, tmp_path):
    from playwright.sync_api import sync_playwright

    astronaut, coins = save_photo("astronaut", tmp_path / "a.jpg"), save_photo("coins", tmp_path / "c.jpg")
    cameraman = save_photo("camera", tmp_path / "m.jpg")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1100, "height": 1800})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{cluster.gateway}/#token={token('browser-curator', 'admin')}")
        page.wait_for_function("document.getElementById('whoami').textContent.includes('browser-curator')")
        page.wait_for_selector("#review:not([hidden])")

        page.locator("#pose-photo").set_input_files(str(coins))
        page.get_by_role("button", name="Find the pose").click()
        page.wait_for_function(
            "document.getElementById('extract-status').textContent.includes('No person')", timeout=60_000
        )

        page.locator("#pose-photo").set_input_files(str(astronaut))
        page.get_by_role("button", name="Find the pose").click()
        page.wait_for_selector("#extract-overlay:not([hidden])[src*='/files/']", timeout=60_000)
        assert "Found 1 person" in page.text_content("#extract-status")
        page.get_by_label("Name", exact=True).fill("Helmet from the browser")
        page.get_by_label("Category", exact=True).nth(1).select_option("casual-lifestyle")
        page.get_by_role("button", name="Save as my pose").click()
        page.wait_for_function("document.getElementById('save-status').textContent.startsWith('Saved')")
        page.wait_for_function("document.getElementById('selected-count').textContent === '1'")

        page.get_by_label("Only my poses").check()
        page.get_by_role("button", name="Filter").click()
        page.wait_for_function("document.querySelectorAll('#poses .pose').length === 1")
        assert page.locator("#poses .pose.private").count() == 1
        assert page.locator("#poses .pose input[type=checkbox]").is_checked()

        page.get_by_label("Pose", exact=True).fill("Cameraman at the tripod (web page)")
        page.locator("#request-photo").set_input_files(str(cameraman))
        page.get_by_role("button", name="Request", exact=True).click()
        page.wait_for_function("document.getElementById('request-status').textContent.startsWith('Requested')")
        page.wait_for_selector("#my-requests .request.pending")
        page.wait_for_selector("#review-queue .request button[type=submit]:not([disabled])", timeout=60_000)
        page.locator("#review-queue .request select").first.select_option("professional")
        page.locator("#review-queue .request").first.get_by_role("button", name="Approve").click()
        page.wait_for_function(
            "document.getElementById('request-status').textContent.includes('was approved')", timeout=30_000
        )
        page.wait_for_selector("#my-requests .request.approved")
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        browser.close()
    assert errors == []
