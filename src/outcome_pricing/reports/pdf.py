"""HTML reports as PDF, printed by Chromium (headless) where it is installed.

The PDF is the HTML report printed by a browser engine, so the two carry the
same content and the same figures (the print styles of the report lay it out
for A4/Letter). WeasyPrint is not used: it is not installed here, and a
browser prints the report's inline SVG charts exactly as they show on screen.

Chromium is found at ``$OUTCOME_PRICING_CHROMIUM``, else on the PATH
(chromium, chromium-browser, google-chrome), else /usr/bin/chromium. Without
it, `html_to_pdf` raises `PdfUnavailableError` saying what to install; the
HTML report still works and prints to PDF from any browser.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from outcome_pricing.errors import OutcomePricingError

CHROMIUM_ENV = "OUTCOME_PRICING_CHROMIUM"
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FALLBACK = Path("/usr/bin/chromium")
TIMEOUT_SECONDS = 90.0
PDF_MAGIC = b"%PDF-"


class PdfUnavailableError(OutcomePricingError):
    """No browser engine to print a PDF with (or it failed): the HTML report still works."""

    title = "PDF not available"


def chromium_path() -> Path | None:
    """The Chromium binary to print with, or None when none is installed."""
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        return Path(configured) if Path(configured).exists() else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return Path(found)
    return FALLBACK if FALLBACK.exists() else None


def pdf_available() -> bool:
    return chromium_path() is not None


def _command(binary: Path, html_file: Path, pdf_file: Path, profile: Path) -> list[str]:
    return [
        str(binary), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--no-first-run", "--disable-extensions",
        # A private profile: a running browser (or another print) must not share or lock it.
        f"--user-data-dir={profile}",
        "--no-pdf-header-footer", "--print-to-pdf-no-header",
        f"--print-to-pdf={pdf_file}", html_file.as_uri(),
    ]


def html_to_pdf(html: str, timeout: float = TIMEOUT_SECONDS) -> bytes:
    """The HTML document printed to PDF by headless Chromium (no network: the page is a file)."""
    binary = chromium_path()
    if binary is None:
        raise PdfUnavailableError(
            "No Chromium to print the PDF with. Install it (Debian/Ubuntu: apt-get install chromium) "
            f"or set {CHROMIUM_ENV} to its path; meanwhile use the HTML report, which prints to PDF "
            "from any browser."
        )
    with tempfile.TemporaryDirectory(prefix="op-pdf-") as tmp:
        folder = Path(tmp)
        html_file, pdf_file = folder / "report.html", folder / "report.pdf"
        html_file.write_text(html, encoding="utf-8")
        try:
            run = subprocess.run(
                _command(binary, html_file, pdf_file, folder / "profile"),
                capture_output=True, timeout=timeout, check=False,
            )
        except subprocess.TimeoutExpired:
            raise PdfUnavailableError(
                f"Chromium ({binary}) did not finish printing the PDF within {timeout:.0f} s; "
                "use the HTML report, or try again when the machine is less busy."
            ) from None
        except OSError as exc:
            raise PdfUnavailableError(f"Cannot start Chromium ({binary}): {exc}.") from None
        data = pdf_file.read_bytes() if pdf_file.exists() else b""
        if not data.startswith(PDF_MAGIC):
            tail = run.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
            raise PdfUnavailableError(
                f"Chromium ({binary}) printed no PDF (exit code {run.returncode}): "
                + (" / ".join(tail) or "no message") + ". Use the HTML report meanwhile."
            )
        return data
