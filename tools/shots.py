#!/usr/bin/env python3
"""Screenshots of pages of a running Backyard, logged in (waits for the login to finish, unlike a bare submit).

.venv/bin/python tools/shots.py http://127.0.0.1:8000 demo_operator:backyard-demo /orders/ /orders/1/ --out /tmp/shots
"""

import argparse
import pathlib
import re
import sys

from playwright.sync_api import sync_playwright

FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("login", help="USER:PASS")
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--out", default="/tmp/shots")
    ap.add_argument("--width", type=int, default=1440)
    ap.add_argument("--height", type=int, default=900)
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--lang", default="ja-JP")
    a = ap.parse_args()
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        page = browser.new_page(viewport={"width": a.width, "height": a.height}, locale=a.lang)
        user, _, password = a.login.partition(":")
        page.goto(a.base + "/accounts/login/")
        page.fill("input[name=username]", user)
        page.fill("input[name=password]", password)
        with page.expect_navigation():
            page.click("button[type=submit]")
        for path in a.paths:
            resp = page.goto(a.base + path)
            page.wait_for_load_state("networkidle")
            name = re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_") or "root"
            target = out / f"{name}.png"
            page.screenshot(path=str(target), full_page=a.full)
            print(f"{target}  (HTTP {resp.status if resp else '?'})")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
