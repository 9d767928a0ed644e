"""A `#token=` link never silently replaces the token stored in the browser (issue 24): with another user's token
stored, the page asks first, naming both users, and keeps the stored one unless the user agrees. Debian's
Chromium driven by Playwright, against a real gateway process."""

import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from posegen.auth import mint_token
from posegen_cli.localrun import free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is installed by .ci/run")


@pytest.fixture
def gateway(service_env, tmp_path):
    port = free_port()
    env = {**service_env, "GATEWAY_HOST": "127.0.0.1", "GATEWAY_PORT": str(port), "GATEWAY_METRICS_PORT": "0"}
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([sys.executable, "-m", "posegen_cli", "gateway"], env=env, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, "the gateway stopped"
            assert time.monotonic() < deadline, "the gateway did not start"
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base, env["JWT_SECRET"]
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_link_never_silently_replaces_the_stored_token(gateway):
    from playwright.sync_api import sync_playwright

    base, secret = gateway

    def token(user: str, ttl: int = 3600) -> str:
        return mint_token(user_id=user, secret=secret, algorithm="HS256", ttl_seconds=ttl)

    alice, mallory = token("alice"), token("mallory")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context()
        dialogs: list[str] = []

        def open_link(link_token: str, *, agree: bool) -> str:
            """Open the link in a new tab, as a click from elsewhere does; answer any question; the stored token."""
            page = context.new_page()

            def answer(dialog) -> None:
                dialogs.append(dialog.message)
                dialog.accept() if agree else dialog.dismiss()

            page.on("dialog", answer)
            page.goto(f"{base}/#token={link_token}")
            page.wait_for_function("document.getElementById('token') !== null && location.hash === ''")
            stored = page.evaluate("localStorage.getItem('posegen-token')")
            page.close()
            return stored

        assert open_link(alice, agree=True) == alice and dialogs == [], "nothing stored yet: no question"
        assert open_link(mallory, agree=False) == alice, "declined: the stored token stays"
        assert len(dialogs) == 1 and "mallory" in dialogs[0] and "alice" in dialogs[0]
        assert open_link(alice, agree=False) == alice and len(dialogs) == 1, "the same token: no question"
        assert open_link(mallory, agree=True) == mallory, "agreed: switched"
        assert len(dialogs) == 2 and "mallory" in dialogs[1] and "alice" in dialogs[1]
        forged = alice.split(".")[0] + "." + mallory.split(".")[1] + ".bad"  # names mallory, signed by no one
        assert open_link(forged, agree=False) == mallory and len(dialogs) == 3, (
            "another token: asked, even for one user"
        )
        browser.close()
