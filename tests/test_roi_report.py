"""The ROI report as a CFO reads it: the price in words, the sender, plain sources, a
tornado with an axis, and the same report as a PDF with the JSON's figures."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from outcome_pricing.analysis import roi
from outcome_pricing.cli import cli
from outcome_pricing.errors import ConfigError
from outcome_pricing.reports import pdf
from outcome_pricing.reports import roi_report as report
from outcome_pricing.reports.vendor import VENDOR_ENV, Vendor, load_vendor
from tests.pdftext import pdf_text, squash

VALUES = dict(monthly_volume=10_000, minutes_saved_per_task=3.0, agent_hourly_cost=40.0, seats=20,
              seat_price=100.0, ai_spend_per_task=0.5, implementation_cost=12_000)
TERMS = "$0.99 per resolved conversation; nothing for handoffs; a reopen within 7 days is not billed"
ACME = Vendor("Acme AI Support", "Jane Doe, Account Executive", "jane@acme.example")


def a_case() -> roi.RoiCase:
    assumptions = {k: roi.entered(k, v) for k, v in VALUES.items()}
    return roi.build_case(assumptions, subject="Sierra Vista Energy (A0004)", plan="per-outcome",
                          definition_name="intercom-fin-2025", definition_version="1a2b3c4d5e",
                          plan_version="9f8e7d6c5b", plan_terms=TERMS, prepared_on=date(2026, 11, 27))


class TestHeadline:
    def test_the_price_is_stated_in_words_next_to_the_plan(self) -> None:
        page = report.render_html(a_case(), ACME)
        headline = page.split('<div class="kpis">')[0]
        assert "per-outcome</b>: $0.99 per resolved conversation; nothing for handoffs" in headline

    def test_version_hashes_are_in_a_footnote_not_the_headline(self) -> None:
        page = report.render_html(a_case(), ACME)
        headline, rest = page.split('<div class="kpis">')
        assert "1a2b3c4d5e" not in headline and "9f8e7d6c5b" not in headline
        footnote = rest.split('class="footnote"')[1]
        assert "1a2b3c4d5e" in footnote and "9f8e7d6c5b" in footnote

    def test_the_sender_is_on_the_report(self) -> None:
        page = report.render_html(a_case(), ACME)
        assert "Acme AI Support" in page and "jane@acme.example" in page

    def test_the_tornado_has_npv_values_on_its_axis_and_each_range_in_its_label(self) -> None:
        case = a_case()
        drawing = report.tornado_svg(case.tornado, case.npv)
        ticks = report.nice_ticks(min(min(b.npv_at_low, b.npv_at_high) for b in case.tornado),
                                  max(max(b.npv_at_low, b.npv_at_high) for b in case.tornado), 7)
        assert len(ticks) >= 3
        for t in ticks:
            assert f">{report.money_short(t)}<" in drawing
        assert "Tasks per month (8,000 to 12,000)" in drawing

    @pytest.mark.parametrize(("lo", "hi", "ticks"), [
        (0, 100, [0, 20, 40, 60, 80, 100]), (-12_000, 47_000, [-10_000, 0, 10_000, 20_000, 30_000, 40_000]),
        (1.2, 1.9, [1.2, 1.4, 1.6, 1.8]),
    ])
    def test_axis_ticks_are_round_numbers(self, lo: float, hi: float, ticks: list[float]) -> None:
        assert report.nice_ticks(lo, hi, 7) == pytest.approx(ticks)


class TestVendorSettings:
    def test_read_from_the_file_in_the_environment(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        path = tmp_path / "vendor.toml"
        path.write_text('[vendor]\nname = "Acme AI"\ncontact = "Jane Doe"\nphone = "+1 555 0100"\n')
        monkeypatch.setenv(VENDOR_ENV, str(path))
        v = load_vendor()
        assert (v.name, v.contact, v.phone, v.configured) == ("Acme AI", "Jane Doe", "+1 555 0100", True)
        assert "Acme AI" in report.render_html(a_case())

    def test_without_a_file_the_report_says_how_to_set_it(self, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv(VENDOR_ENV, str(tmp_path / "missing.toml"))
        v = load_vendor()
        assert not v.configured and "missing.toml" in v.contact and "[vendor]" in v.contact

    @pytest.mark.parametrize(("text", "names"), [
        ('[vendor]\ncontact = "x"\n', "name is required"),
        ('[vendor]\nname = "x"\nfax = "1"\n', "unknown key 'fax'"),
        ('[vendor]\nname = 3\n', "name must be text"),
        ('name = "x"\n', "no [vendor] table"),
        ('[vendor\nname = "x"\n', "not valid TOML"),
    ])
    def test_a_bad_file_is_refused_naming_file_and_key(self, tmp_path: Path, text: str, names: str) -> None:
        path = tmp_path / "vendor.toml"
        path.write_text(text)
        with pytest.raises(ConfigError, match="vendor.toml") as err:
            load_vendor(path)
        assert names in str(err.value)

    def test_hostile_vendor_text_is_escaped(self) -> None:
        page = report.render_html(a_case(), Vendor("<script>x()</script>", "<img src=x onerror=y>"))
        assert "<script>x()" not in page and "<img src=x" not in page


class TestPdf:
    def test_without_chromium_the_message_says_what_to_install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv(pdf.CHROMIUM_ENV, "/nonexistent/chromium")
        with pytest.raises(pdf.PdfUnavailableError, match="apt-get install chromium"):
            pdf.html_to_pdf("<p>x</p>")

    @pytest.mark.slow
    @pytest.mark.skipif(not pdf.pdf_available(), reason="Chromium is not installed")
    def test_the_pdf_carries_the_figures_of_the_json(self) -> None:
        case = a_case()
        d = case.to_dict()
        data = report.render_pdf(case, ACME)
        assert data.startswith(b"%PDF-")
        text = squash(pdf_text(data))
        for shown in (report.money(d["npv"]), report.pct(d["roi"]), f"{d['payback_months']:.1f}months",
                      *(report.money(y["net"]) for y in d["years"]),
                      "SierraVistaEnergy(A0004)", "$0.99perresolvedconversation", "AcmeAISupport",
                      "Labourhourssaved", "Assumptionsandtheirsources"):
            assert squash(shown) in text, shown


@pytest.mark.slow
@pytest.mark.skipif(not pdf.pdf_available(), reason="Chromium is not installed")
def test_roi_format_pdf_writes_the_report(demo_db_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "case.pdf"
    args = ["--db", str(demo_db_path), "roi", "--account", "A0002", "--plan", "per-outcome",
            "--definition", "intercom-fin-2025"]
    res = CliRunner().invoke(cli, [*args, "--format", "pdf", "--out", str(out)])
    assert res.exit_code == 0, res.output
    figures = CliRunner().invoke(cli, [*args, "--format", "json"])
    import json

    d = json.loads(figures.stdout)
    text = squash(pdf_text(out.read_bytes()))
    assert squash(report.money(d["npv"])) in text and squash(d["plan_terms"].split(";")[0]) in text


def test_roi_format_pdf_without_chromium_exits_2(demo_db_path: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(pdf.CHROMIUM_ENV, "/nonexistent/chromium")
    out = tmp_path / "case.pdf"
    res = CliRunner().invoke(cli, ["--db", str(demo_db_path), "roi", "--account", "A0002", "--plan",
                                   "per-outcome", "--definition", "intercom-fin-2025", "--format", "pdf",
                                   "--out", str(out)])
    assert res.exit_code != 0 and not out.exists()
    assert "Chromium" in str(res.exception) or "Chromium" in res.output
