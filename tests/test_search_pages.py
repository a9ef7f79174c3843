"""The search box in every page's header, in Chromium: a word finds the matter with the word marked;
a 机密 matter stays out of sight of a colleague of its department; a bad query is answered in words."""
from __future__ import annotations

from helpers import start
from test_search import TITLE
from test_secrecy import document, secret


def test_the_header_box_finds_a_matter_by_two_characters_and_marks_them(site, browse):
    wanted = start(site, "shenkai", "document_approval", document(TITLE))
    hidden = secret(site)
    page = browse("shenkai")
    page.fill("header .search-box input", "站台")
    page.press("header .search-box input", "Enter")
    page.wait_for_selector("ol.hits")
    hit = page.locator(f"li[data-instance='{wanted}']")
    assert hit.locator("a").inner_text() == TITLE
    assert hit.locator("mark").inner_text() == "站台"
    assert "共找到 1 件" in page.inner_text("main")
    page.goto("/search?q=任免")
    assert page.locator(f"li[data-instance='{hidden}']").count() == 1      # its drafter finds it

    colleague = browse("jiangjianguo")                                       # 教育局 too, not on its 分发范围
    colleague.goto("/search?q=任免")
    assert colleague.locator("ol.hits li[data-instance]").count() == 0
    assert "共找到 0 件" in colleague.inner_text("main") and "任免的请示" not in colleague.content()
    colleague.set_viewport_size({"width": 390, "height": 800})
    colleague.goto("/search?q=" + "站" * 200)
    assert "检索词过长" in colleague.inner_text("[role=alert]")
    assert colleague.locator("header .search-box input").is_visible()
