"""The printed papers of a 公文, read back from the PDF with pdfplumber (a reader govflow does not use
to write them): the 办文单 and the 发文稿纸 with every opinion, name and full date in order, and the
document as issued at 印发 in the layout of GB/T 9704-2012 — its elements in order, the 成文日期 as
the standard writes it, the 发文机关标志 in red, everything on the 版心 of 156 mm × 225 mm (±1 mm).
Who may print is who may see the matter (a 机密 document only its handlers); values print as text,
never as markup; and the print button of a task page gives a PDF in the browser."""
from __future__ import annotations

import io
import re
from datetime import date

import pdfplumber
import pytest
from sqlalchemy import select

from browser import shot
from conftest import build_system
from govflow.records.printing import papers, render
from govflow.records.printing.papers import Issued, full_date
from govflow.store.models import Task
from govflow.work import printouts, tasks
from helpers import actor, complete, deploy_xml, holder, open_tasks, start
from procedures import People as MeetingPeople
from procedures import by_hand, lead_and_other
from test_document_process import DIAGRAM, People
from test_instance_pages import logged_in

MM = 72 / 25.4
LEFT, TOP, WIDTH, HEIGHT = 28.0, 37.0, 156.0, 225.0          # 版心 (GB/T 9704-2012 5.2)
RIGHT, BOTTOM = LEFT + WIDTH, TOP + HEIGHT
PUBLISHED = {"copies": 50, "distribution": "主送：各镇街、区级各部门；抄送：区委办公室",
             "annotation": "此件公开发布"}


def answers(people: People, publication: dict) -> dict:
    """What each step of the document procedure is given on the way to 印发."""
    return {
        "receipt": {"received": True},
        "office_review": {"decision": "拟办", "opinion": "拟请有关领导会签后报区长签发"},
        "reply_timed": {"decision": "同意", "opinion": "无不同意见"},
        "reply": {"decision": "同意", "opinion": "无不同意见"},
        "leader_review": {"decision": "同意", "opinion": "同意，请区长签发"},
        "signing": {"decision": "同意", "opinion": "同意印发"},
        "publish": publication,
    }


def through(system, people: People, instance_id: int, until: str | None = None, publication: dict = PUBLISHED) -> None:
    """Every open task done by its holder, in order, up to ``until`` (not done) or the end."""
    given = answers(people, publication)
    while rows := open_tasks(system, instance_id):
        row = rows[0]
        if row.step_id == until:
            return
        complete(system, holder(system, row), row.id, given[row.step_id])


@pytest.fixture
def dongchang(sqlite_url):
    system = build_system(sqlite_url, "dongchang")
    deploy_xml(system, DIAGRAM, "document_approval.bpmn")
    yield system
    system.store.dispose()


@pytest.fixture
def issued_matter(dongchang):
    people = People("dongchang")
    body = "第一段正文。\n第二段正文，妥否，请批示。"
    instance_id = start(dongchang, people.sender, "document_approval",
                        people.document(attachments=["合法性审查意见"], body=body))
    through(dongchang, people, instance_id)
    return dongchang, people, instance_id


def pdf_of(client, path: str):
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/pdf"
    return pdfplumber.open(io.BytesIO(response.data))


def lines(document) -> list[str]:
    return [line["text"] for page in document.pages for line in page.extract_text_lines()]


def in_flat_order(document, *wanted: str) -> list[str]:
    """``in_order`` over the flat text: for tables, whose cells share lines."""
    found, at, missing = flat(document), 0, []
    for w in wanted:
        hit = found.find("".join(w.split()), at)
        if hit < 0:
            missing.append(w)
        else:
            at = hit
    return missing


def text(document) -> str:
    return "\n".join(lines(document))


def flat(document) -> str:
    """The document's text without line breaks or spaces (a table cell wraps where it must)."""
    return "".join(text(document).split())


def in_order(document, *wanted: str) -> list[str]:
    """The wanted texts not found in the document's lines in this order (each at or after the one before)."""
    found, at, missing = lines(document), 0, []
    for w in wanted:
        hit = next((i for i in range(at, len(found)) if w in found[i]), None)
        if hit is None:
            missing.append(w)
        else:
            at = hit
    return missing


# -- the issued document ---------------------------------------------------------------------------------------
def test_the_issued_document_has_the_elements_of_gbt9704_in_their_order(issued_matter):
    system, people, instance_id = issued_matter
    head = people.org.person(people.head).name
    document = pdf_of(logged_in(system, people.sender), f"/instances/{instance_id}/print/issued.pdf")
    found = lines(document)
    assert not in_order(document, "通化市东昌区人民政府文件", "东昌府发〔2026〕1号", f"签发人：{head}",
                      "关于申请城区排水管网改造资金的请示", "各镇街、区级各部门：", "第一段正文。", "第二段正文",
                      "附件：合法性审查意见", "通化市东昌区人民政府", "2026年11月23日", "（此件公开发布）",
                      "抄送：区委办公室。", "东昌区人民政府办公室")
    for number, page in enumerate(document.pages, start=1):                  # 页码 (7.5)
        assert f"— {number} —" in page.extract_text()
    # 成文日期: the date of 签发, Arabic numerals, full year, no zero padding (7.3.5.1)
    assert "2026年11月23日" in found and not any(re.search(r"\d{4}年0\d月|月0\d日", line) for line in found)
    printed = next(line for line in found if line.endswith("印发"))
    assert printed.startswith("东昌区人民政府办公室") and printed.endswith("2026年11月23日印发")   # 7.4.3


def test_the_issued_document_lies_on_the_gbt9704_text_area_with_a_red_issuer_mark(issued_matter):
    system, people, instance_id = issued_matter
    document = pdf_of(logged_in(system, people.sender), f"/instances/{instance_id}/print/issued.pdf")
    for page in document.pages:
        assert (round(page.width / MM, 1), round(page.height / MM, 1)) == (210.0, 297.0)          # A4
        for char in page.chars:
            if char["bottom"] / MM > BOTTOM + 1:           # the page number, below the 版心 (7.5)
                continue
            assert LEFT - 1 <= char["x0"] / MM and char["x1"] / MM <= RIGHT + 1, char["text"]
            assert TOP - 1 <= char["top"] / MM, char["text"]
    first, last = document.pages[0], document.pages[-1]
    mark = [c for c in first.chars if c["size"] > 30]
    assert "".join(c["text"] for c in mark) == "通化市东昌区人民政府文件"
    assert all(_red(c["non_stroking_color"]) for c in mark)                                       # 7.2.4
    assert not any(_red(c["non_stroking_color"]) for c in first.chars if c["size"] <= 30)
    assert abs(min(c["x0"] for c in mark) / MM - LEFT) <= 1 and abs(max(c["x1"] for c in mark) / MM - RIGHT) <= 1
    assert abs(min(c["top"] for c in mark) / MM - (TOP + 35)) <= 1         # 上边缘至版心上边缘 35 mm
    separator = [r for r in first.rects if _red(r["non_stroking_color"])]
    assert len(separator) == 1                                              # the red separator (7.2.7), 版心 wide
    assert abs(separator[0]["x0"] / MM - LEFT) <= 1 and abs(separator[0]["width"] / MM - WIDTH) <= 1
    number = next(line for line in first.extract_text_lines() if "东昌府发" in line["text"])
    assert 3 <= separator[0]["top"] / MM - number["bottom"] / MM <= 5.5     # 发文字号之下 4 mm
    rules = [r for r in last.rects if not _red(r["non_stroking_color"])]    # 版记's rules, the last on the last line
    assert rules and all(abs(r["x0"] / MM - LEFT) <= 1 and abs(r["width"] / MM - WIDTH) <= 1 for r in rules)
    assert abs(max(r["bottom"] for r in rules) / MM - BOTTOM) <= 1
    body = [line for line in first.extract_text_lines() if line["text"].startswith("第一段")]
    assert body and abs(body[0]["x0"] / MM - (LEFT + 2 * 16 / MM)) <= 1.5   # 每个自然段左空二字


def _red(colour) -> bool:
    return isinstance(colour, (tuple, list)) and len(colour) == 3 and colour[0] > 0.8 and max(colour[1:]) < 0.2


@pytest.mark.parametrize("day, written", [
    (date(2026, 7, 1), "2026年7月1日"), (date(2026, 11, 23), "2026年11月23日"), (date(2027, 1, 10), "2027年1月10日"),
])
def test_dates_are_written_in_arabic_numerals_with_the_full_year_and_no_padding(day, written):
    assert full_date(day) == written


def test_the_issued_document_exists_only_after_publication(dongchang):
    people = People("dongchang")
    instance_id = start(dongchang, people.sender, "document_approval", people.document())
    through(dongchang, people, instance_id, until="publish")
    client = logged_in(dongchang, people.sender)
    refused = client.get(f"/instances/{instance_id}/print/issued.pdf")
    assert refused.status_code == 404 and "尚未印发" in refused.get_data(as_text=True)
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert "print/docket.pdf" in page and "print/draft.pdf" in page and "print/issued.pdf" not in page


# -- the 办文单 and the 发文稿纸 --------------------------------------------------------------------------------
def test_the_docket_lists_every_opinion_with_name_and_full_date_in_order(issued_matter):
    system, people, instance_id = issued_matter
    org = people.org
    document = pdf_of(logged_in(system, people.sender), f"/instances/{instance_id}/print/docket.pdf")
    found = flat(document)
    assert found.startswith("通化市东昌区人民政府办文单")
    source = org.departments[people.own].name
    for value in (source, "关于申请城区排水管网改造资金的请示", "一般", "东昌府发〔2026〕1号"):
        assert value in found
    clerk, lead, second, head, other = (org.person(p).name for p in (people.clerk, people.lead, people.second,
                                                                       people.head, people.other_head))
    assert not in_flat_order(document, "来文单位", "文号", "标题", "紧急程度", "密级",
                             "拟办意见", "拟请有关领导会签后报区长签发", f"{clerk}2026年11月23日",
                             "领导批示", "同意，请区长签发", f"{lead}2026年11月23日", f"{second}2026年11月23日",
                             "同意印发", f"{head}2026年11月23日",
                             "办理情况", "无不同意见", f"{other}2026年11月23日")


def test_the_draft_sheet_names_who_drafted_checked_countersigned_and_signed(issued_matter):
    system, people, instance_id = issued_matter
    org = people.org
    document = pdf_of(logged_in(system, people.clerk), f"/instances/{instance_id}/print/draft.pdf")
    found = flat(document)
    assert found.startswith("通化市东昌区人民政府发文稿纸")
    sender, clerk, lead, second, head, other = (org.person(p).name for p in (
        people.sender, people.clerk, people.lead, people.second, people.head, people.other_head))
    assert not in_flat_order(document, "发文字号：东昌府发〔2026〕1号", "签发", "同意印发", f"{head}2026年11月23日",
                             "会签", f"{other}2026年11月23日", f"{lead}2026年11月23日", f"{second}2026年11月23日",
                             "核稿", f"{clerk}2026年11月23日", "拟稿", f"{sender}2026年11月23日",
                             "标题", "关于申请城区排水管网改造资金的请示", "印发份数", "50",
                             "主送", "各镇街、区级各部门", "抄送", "区委办公室")


def test_a_followup_item_prints_its_docket_and_nothing_of_a_document(site):
    people = MeetingPeople("bazhou")
    lead, _ = lead_and_other(people.org)
    instance_id = by_hand(site, people, lead, [], "2027-03-31")
    client = logged_in(site, people.duty("督查"))
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert "print/docket.pdf" in page and "print/draft.pdf" not in page
    found = flat(pdf_of(client, f"/instances/{instance_id}/print/docket.pdf"))
    assert found.startswith("巴中市巴州区人民政府办文单")
    assert "区长批示件〔2026〕12号" in found and people.org.departments[lead].name in found
    assert client.get(f"/instances/{instance_id}/print/draft.pdf").status_code == 404


# -- who may print, and hostile values -------------------------------------------------------------------------
def test_a_secret_matter_is_printed_only_for_those_who_may_see_it(dongchang):
    people = People("dongchang")
    instance_id = start(dongchang, people.sender, "document_approval", people.document(secrecy="机密"))
    through(dongchang, people, instance_id)
    # the sending department's head, who would see a plain document of it but handled none of this one
    colleague = people.own_head
    assert logged_in(dongchang, colleague).get(f"/instances/{instance_id}").status_code == 403
    outsider = logged_in(dongchang, colleague)
    for kind in ("docket", "draft", "issued"):
        refused = outsider.get(f"/instances/{instance_id}/print/{kind}.pdf")
        assert refused.status_code == 403, kind
        assert "关于申请" not in refused.get_data(as_text=True)
    document = pdf_of(logged_in(dongchang, people.sender), f"/instances/{instance_id}/print/issued.pdf")
    assert lines(document)[0] == "机密"                     # 密级 at the top left (7.2.2)


@pytest.mark.parametrize("path, status", [
    ("/instances/999999/print/docket.pdf", 404),
    ("/instances/{id}/print/passwd.pdf", 404),
    ("/instances/{id}/print/..%2F..%2Fetc%2Fpasswd.pdf", 404),
    ("/instances/-1/print/docket.pdf", 404),
])
def test_unknown_instances_and_kinds_are_refused(issued_matter, path, status):
    system, people, instance_id = issued_matter
    response = logged_in(system, people.sender).get(path.format(id=instance_id))
    assert response.status_code == status and response.mimetype != "application/pdf"


def test_printing_needs_a_login(issued_matter):
    system, people, instance_id = issued_matter
    from govflow.app import create_app
    response = create_app(system=system).test_client().get(f"/instances/{instance_id}/print/docket.pdf")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


HOSTILE = '<b>粗</b></p><style>*{color:red}</style><img src="file:///etc/passwd">{{ 7*7 }}'


def test_markup_in_fields_prints_as_text(dongchang):
    people = People("dongchang")
    instance_id = start(dongchang, people.sender, "document_approval",
                        people.document(title="关于" + HOSTILE + "的请示", body=HOSTILE + "\n正文"))
    through(dongchang, people, instance_id,
            publication={"copies": 1, "distribution": "主送：" + HOSTILE, "annotation": "</style>" + HOSTILE})
    client = logged_in(dongchang, people.sender)
    for kind in ("docket", "draft", "issued"):
        document = pdf_of(client, f"/instances/{instance_id}/print/{kind}.pdf")
        flat = "".join(text(document).split())
        assert "<b>粗</b></p><style>*{color:red}</style>" in flat, kind          # the characters, as typed
        assert "{{7*7}}" in flat and "49" not in flat
        reds = [c for page in document.pages for c in page.chars if _red(c["non_stroking_color"])]
        red_text = "".join(c["text"] for c in reds)
        assert "粗" not in red_text and "正文" not in red_text, kind


def test_a_huge_title_and_body_stay_on_the_text_area_and_number_their_pages():
    paper = Issued(secrecy="", urgency="特急", issuer_mark="通化市东昌区人民政府文件", number="东昌府发〔2026〕9号",
                   signer="", title="关" * 400 + "W" * 300, addressees="各镇街" * 100, body=("正文内容" * 2000,) * 2,
                   attachments=("附" * 300,), issuer="通化市东昌区人民政府", written_on="2026年7月1日",
                   annotation="注" * 300, copied_to="抄" * 500, printer="东昌区人民政府办公室",
                   printed_on="2026年7月2日")
    document = pdfplumber.open(io.BytesIO(render.issued_pdf(paper)))
    assert len(document.pages) > 10
    for number, page in enumerate(document.pages, start=1):
        assert f"— {number} —" in page.extract_text()
        for char in page.chars:
            assert LEFT - 1 <= char["x0"] / MM and char["x1"] / MM <= RIGHT + 1
            assert TOP - 1 <= char["top"] / MM and char["bottom"] / MM <= BOTTOM + 15
    # the 版记 once, on the last page (7.4)
    assert [i for i, page in enumerate(document.pages) if "印发" in page.extract_text()] == [len(document.pages) - 1]


def test_the_renderer_fetches_nothing():
    paper = papers.Docket(organisation="东昌区", title="<link rel=stylesheet href='http://127.0.0.1:9/x.css'>",
                          source="", number="", doc_type="", urgency="", secrecy="无", received_on="",
                          business_key="", opinions=())
    document = pdfplumber.open(io.BytesIO(render.docket_pdf(paper)))
    assert "<link rel=stylesheet" in document.pages[0].extract_text()
    from govflow.records.printing.render import _refuse_fetching
    with pytest.raises(ValueError):
        _refuse_fetching().fetch("file:///etc/passwd")


# -- in the browser ----------------------------------------------------------------------------------------------
def test_the_print_link_of_a_task_page_downloads_the_docket(site, browse):
    people = People("bazhou")
    instance_id = start(site, people.sender, "document_approval", people.document())
    through(site, people, instance_id, until="signing")
    row = next(t for t in open_tasks(site, instance_id) if t.step_id == "signing")
    page = browse(holder(site, row))
    page.goto(f"/tasks/{row.id}")
    with page.expect_download() as download:
        page.click("a[data-print=docket]")
    document = pdfplumber.open(io.BytesIO(open(download.value.path(), "rb").read()))
    found = flat(document)
    assert "巴中市巴州区人民政府办文单" in found and "关于申请城区排水管网改造资金的请示" in found
    assert "拟请有关领导会签后报区长签发" in found
    shot(page, "task-print-links")


def test_the_same_record_prints_the_same_file_and_a_new_opinion_prints_anew(issued_matter):
    system, people, instance_id = issued_matter
    client = logged_in(system, people.sender)
    path = f"/instances/{instance_id}/print/issued.pdf"
    first = client.get(path).data
    printouts._cache.items.clear()                     # rendered again from the record, not taken from memory
    assert client.get(path).data == first
    docket = client.get(f"/instances/{instance_id}/print/docket.pdf").data
    row = next(t for t in _tasks(system, instance_id) if t.step_id == "publish")
    with system.store.write() as session:
        tasks.comment(system, session, actor(system, people.clerk), row.id, "已按份数印发并分送")
    again = client.get(f"/instances/{instance_id}/print/docket.pdf")
    assert again.data != docket and "已按份数印发并分送" in flat(pdfplumber.open(io.BytesIO(again.data)))


def _tasks(system, instance_id: int):
    with system.store.read() as session:
        return list(session.scalars(select(Task).where(Task.instance_id == instance_id)))


@pytest.mark.parametrize("changes, mark, signer, urgency", [
    ({}, "通化市东昌区人民政府文件", "任勇", ""),                                   # a 请示 goes up: 签发人
    ({"doc_type": "通知", "category": "instruction_to_lower"}, "通化市东昌区人民政府文件", "", ""),
    ({"issuer": "政府办公室", "doc_type": "通知"}, "东昌区人民政府办公室文件", "", ""),
    ({"doc_type": "函", "category": "government_business"}, "通化市东昌区人民政府", "", ""),       # 信函格式
    ({"urgency": "特急重要", "doc_type": "通知"}, "通化市东昌区人民政府文件", "", "特急"),
    ({"category": "to_higher_government", "doc_type": "意见"}, "通化市东昌区人民政府文件", "任勇", ""),
])
def test_what_the_head_of_an_issued_document_carries(changes, mark, signer, urgency):
    org = People("dongchang").org
    head = org.head()
    data = {**People("dongchang").document(), **changes, "registration": {"number": "东昌府发〔2026〕3号"},
            "signature": {"name": head.name, "signed_on": "2026-07-01"}}
    events = [papers.Recorded(1, "2026-07-01T10:00:00+08:00", "task_completed", head.id,
                              {"step": "signing", "data": {"decision": "同意"}}),
              papers.Recorded(2, "2026-07-03T10:00:00+08:00", "task_completed", "system",
                              {"step": "publish", "data": {"copies": 3, "distribution": "各镇街"}})]
    issued = papers.issued(papers.Reading(org, data, events))
    assert (issued.issuer_mark, issued.signer, issued.urgency) == (mark, signer, urgency)
    assert (issued.written_on, issued.printed_on, issued.addressees) == ("2026年7月1日", "2026年7月3日", "各镇街")
    assert issued.issuer == mark.removesuffix("文件")


def test_the_distribution_text_gives_the_addressees_and_the_copies_without_doubled_punctuation():
    org = People("dongchang").org
    publish = {"copies": 2, "distribution": "主送：各镇街、区级各部门。\n抄送：区委办公室，区人大常委会办公室。"}
    events = [papers.Recorded(1, "2026-07-03T10:00:00+08:00", "task_completed", "system",
                              {"step": "publish", "data": publish})]
    sheet = papers.draft_sheet(papers.Reading(org, People("dongchang").document(), events))
    assert sheet.addressees == "各镇街、区级各部门" and sheet.copies == "2"
    assert sheet.copied_to == "区委办公室，区人大常委会办公室"
    given = {**publish, "addressees": "市人民政府：", "copied_to": "市委办公室。"}
    events = [papers.Recorded(1, "2026-07-03T10:00:00+08:00", "task_completed", "system",
                              {"step": "publish", "data": given})]
    sheet = papers.draft_sheet(papers.Reading(org, People("dongchang").document(), events))
    assert (sheet.addressees, sheet.copied_to) == ("市人民政府", "市委办公室")


def test_a_full_page_of_text_holds_22_lines_of_28_characters():
    """GB/T 9704-2012 7.1: 3号仿宋, 一般每面排 22 行，每行排 28 个字, filling the 版心's width."""
    paper = Issued(secrecy="", urgency="", issuer_mark="通化市东昌区人民政府文件", number="东昌府发〔2026〕9号",
                   signer="", title="标题", addressees="各镇街", body=("正文内容测试" * 300,), attachments=(),
                   issuer="通化市东昌区人民政府", written_on="2026年7月1日", annotation="", copied_to="",
                   printer="东昌区人民政府办公室", printed_on="2026年7月2日")
    page = pdfplumber.open(io.BytesIO(render.issued_pdf(paper))).pages[1]
    body = [line for line in page.extract_text_lines() if line["bottom"] / MM <= BOTTOM + 1]
    assert len(body) == 22 and all(len(line["text"]) == 28 for line in body[1:])
    assert all(abs(line["x1"] / MM - RIGHT) <= 1 for line in body[1:])
