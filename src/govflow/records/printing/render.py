"""Laying the papers out as PDF with WeasyPrint: HTML from Jinja templates that escape every value
(a field holding ``<b>`` or ``</style>`` prints as those characters, never as markup), and a URL
fetcher that fetches nothing, so no value can make the renderer read a file or the network.

Sizes are those of GB/T 9704-2012: A4, 版心 156 mm × 225 mm with the top margin (天头) 37 mm and the
left (订口) 28 mm; 正文 in 3号 (16 pt) on 22 lines a page; 标题 2号 (22 pt); 页码 4号 (14 pt).
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from .papers import Docket, DraftSheet, Issued

HERE = Path(__file__).resolve().parent
PAGE_MM = (210.0, 297.0)
TEXT_AREA_MM = (156.0, 225.0)          # 版心
MARGIN_MM = {"top": 37.0, "left": 28.0}
MARGIN_MM["right"] = PAGE_MM[0] - MARGIN_MM["left"] - TEXT_AREA_MM[0]     # 26 mm
MARGIN_MM["bottom"] = PAGE_MM[1] - MARGIN_MM["top"] - TEXT_AREA_MM[1]     # 35 mm
RED = "#e60012"                         # the red of the 发文机关标志 and the separator
MARK_MAX_MM = (22.0, 15.0)              # 发文机关标志: no larger than 22 mm × 15 mm a character (7.2.4)
MARK_TOP_MM = 35.0                      # its upper edge 35 mm below the 版心's (7.2.4)
MARK_EM_OFFSET = 0.218                  # where Noto Serif CJK's em box starts in a line box of 1 em, measured

_templates = Environment(loader=FileSystemLoader(HERE), autoescape=select_autoescape(["html"]),
                         trim_blocks=True, lstrip_blocks=True)


def docket_pdf(paper: Docket, moment: datetime | None = None) -> bytes:
    return _pdf("docket.html", paper.title, moment, paper=paper)


def draft_pdf(paper: DraftSheet, moment: datetime | None = None) -> bytes:
    return _pdf("draft.html", paper.title, moment, paper=paper)


def issued_pdf(paper: Issued, moment: datetime | None = None) -> bytes:
    # the 标志 as wide as fits the 版心 in one line, each character no wider than 15 mm
    mark_mm = min(MARK_MAX_MM[1], TEXT_AREA_MM[0] / max(1, len(paper.issuer_mark)))
    # its characters' upper edge (the em box's top) 35 mm below the 版心's: the line box starts a little higher
    mark_top_mm = MARK_TOP_MM - MARK_EM_OFFSET * mark_mm
    return _pdf("issued.html", paper.title, moment, paper=paper, mark_mm=round(mark_mm, 2),
                mark_top_mm=round(mark_top_mm, 2))


def _pdf(template: str, title: str, moment: datetime | None, **values) -> bytes:
    from weasyprint import HTML  # heavy (Pango, fonts): loaded when something is printed
    html = _templates.get_template(template).render(
        css=_templates.get_template("paper.css").render(margin=MARGIN_MM, red=RED), red=RED, title=title[:200],
        **values)
    document = HTML(string=html, url_fetcher=_refuse_fetching(), base_url="about:blank")
    # dated by the matter, not the clock: the same record prints the same file
    metadata = {"created": moment.isoformat(), "modified": moment.isoformat()} if moment else {}
    rendered = document.render()
    for key, value in metadata.items():
        setattr(rendered.metadata, key, value)
    rendered.metadata.title = title[:200]
    rendered.metadata.authors = []
    rendered.metadata.generator = "govflow"
    return rendered.write_pdf()


def _refuse_fetching():
    from weasyprint.urls import URLFetcher

    class Refuse(URLFetcher):
        def fetch(self, url, headers=None):
            raise ValueError(f"govflow prints nothing from outside the document: {url[:80]}")
    return Refuse()
