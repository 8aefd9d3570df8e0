"""Screenshots of a ``convcost report`` page at a phone's and a desktop's width.

    .venv/bin/python docs/screenshots.py                      # -> docs/screenshots/*.png
    .venv/bin/python docs/screenshots.py --report reports/compare/report.html --out /tmp/shots

Renders a report of two models (``convcost report mobilenet_v1 shufflenet_v2``) into a
temporary folder, unless ``--report`` names an existing ``report.html``, and screenshots it
with headless Chromium at 400 and 1400 CSS pixels wide: the top of the page (title and the
side-by-side comparison) and, from the first model's plots on, a copy of the page that starts
there (headless Chromium always shows the top of a page). The
PNGs are reduced to 64 colours so they stay small enough to commit.

Needs a Chromium (``apt-get install -y chromium``; ``--chromium PATH`` otherwise). Chromium runs
with a throwaway profile, no sandbox (it refuses to run as root with one), no GPU, no network
services and no first-run screens.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MODELS = ("mobilenet_v1", "shufflenet_v2")
# (file stem, window width, window height, id of the element the shot starts at)
SHOTS = (
    ("report_400_top", 400, 1500, ""),
    ("report_400_plots", 400, 1500, "mobilenet_v1-plots"),
    ("report_1400_top", 1400, 1100, ""),
    ("report_1400_plots", 1400, 1100, "mobilenet_v1-plots"),
)


def find_chromium(given: str | None) -> str:
    for name in ([given] if given else ["chromium", "chromium-browser", "google-chrome"]):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("screenshots: no Chromium found; apt-get install -y chromium, or --chromium PATH")


def render_report(folder: Path) -> Path:
    """``convcost report`` of the two models into ``folder``; returns its report.html."""
    subprocess.run([sys.executable, "-m", "convcost", "report", *MODELS, "--out", str(folder)],
                   check=True, cwd=ROOT)
    return folder / "report.html"


def from_anchor(page: Path, anchor: str, folder: Path) -> Path:
    """A copy of ``page`` that starts at the element ``id=anchor`` (headless Chromium
    screenshots the top of a page whatever its URL's #fragment)."""
    text = page.read_text(encoding="utf-8")
    head, _, body = text.partition("<body>")
    start = body.index(f"id='{anchor}'")
    start = body.rindex("<", 0, start)
    copy = folder / f"{page.stem}-{anchor}.html"
    copy.write_text(f"{head}<body>{body[start:]}", encoding="utf-8")
    return copy


def screenshot(chromium: str, page: Path, width: int, height: int, out: Path) -> None:
    url = page.resolve().as_uri()
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--hide-scrollbars", "--force-device-scale-factor=1",
            f"--user-data-dir={profile}", f"--window-size={width},{height}",
            f"--screenshot={out}", url,
        ], check=True, capture_output=True, timeout=120)


def shrink(path: Path, colours: int = 64) -> None:
    """Reduce a screenshot to a palette of ``colours`` (text and plots stay legible)."""
    from PIL import Image

    with Image.open(path) as im:
        small = im.convert("RGB").quantize(colors=colours, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, help="an existing report.html to screenshot")
    parser.add_argument("--out", type=Path, default=HERE / "screenshots",
                        help="folder for the PNGs (default docs/screenshots)")
    parser.add_argument("--chromium", help="the Chromium executable")
    args = parser.parse_args(argv)
    chromium = find_chromium(args.chromium)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        page = args.report or render_report(Path(tmp) / "report")
        for stem, width, height, anchor in SHOTS:
            out = args.out / f"{stem}.png"
            shown = from_anchor(page, anchor, Path(tmp)) if anchor else page
            screenshot(chromium, shown, width, height, out)
            shrink(out)
            print(f"wrote {out} ({out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
