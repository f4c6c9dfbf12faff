"""Open the built site in headless Chromium with every network request refused, and fail
if a page shows a formula as raw LaTeX or lacks its MathML. Run: python .ci/offline_docs.py SITE.

The site must read offline: formulas are MathML made at build time, and nothing is fetched.
Without a Chromium on the machine this says so and exits 0 (the suite's static checks of the
same site still run: tests/test_docs.py)."""

import pathlib
import re
import shutil
import subprocess
import sys

PAGES = [
    "model/index.html",
    "losses/index.html",
    "objective/index.html",
    "second-order/index.html",
    "sparse/index.html",
]
RAW_LATEX = re.compile(r"\\\(|\\\[|\\frac|\\sum|\\mathbb")


def browser():
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def rendered(exe, page: pathlib.Path) -> str:
    """The page's DOM after scripts ran, every request sent to a closed port."""
    proc = subprocess.run(
        [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--proxy-server=127.0.0.1:9",
            "--proxy-bypass-list=<-loopback>",
            "--virtual-time-budget=5000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{page}: chromium failed: {proc.stderr[-500:]}")
    return proc.stdout


def main(site: str) -> int:
    exe = browser()
    if exe is None:
        print(
            "offline docs check: no Chromium here; the static checks in tests/test_docs.py "
            "cover the built site"
        )
        return 0
    failed = []
    for name in PAGES:
        dom = rendered(exe, pathlib.Path(site).resolve() / name)
        text = re.sub(r"<[^>]+>", " ", dom)
        if RAW_LATEX.search(text) or "<math" not in dom:
            failed.append(name)
    print(
        f"offline docs check ({exe}): {len(PAGES) - len(failed)}/{len(PAGES)} pages show "
        "their formulas as MathML with the network off"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
