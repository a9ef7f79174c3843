"""正文 and 附件: uploaded at the steps whose form asks for files, stored once by SHA-256 (in the
database, chunked; or in a directory), the hash in the event that attaches them, downloads only for
those who may see the matter (logged for auditors and non-handlers), 正文 versions with a text diff,
and every bad input refused in Chinese with nothing stored."""
from __future__ import annotations

import hashlib
import io
import json
import re
import sqlite3
import uuid
import zipfile
from contextlib import closing

import docx
import pdfplumber
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from browser import shot
from conftest import REPO, Api, build_system
from govflow.app import create_app
from govflow.audit.archive import _digest as archive_digest
from govflow.cli import main
from govflow.config import Settings
from govflow.records.files import FileRefused, check_name, docx_text, form_roles, sniff
from govflow.store.contents import CHUNK
from govflow.store.eventlog import verify
from govflow.store.models import Attachment, FileChunk, FileContent, Instance
from govflow.work import files as files_work
from govflow.work import printouts
from govflow.work.system import Govflow
from helpers import actor, complete, deploy_xml, events, holder, open_tasks, task
from helpers import start as start_instance
from procedures import People, by_hand, lead_and_other, simple_topic

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def make_docx(*paragraphs: str) -> bytes:
    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def document(title: str = "关于校舍维修的请示", secrecy: str = "无", **more) -> dict:
    return {"doc_type": "请示", "title": title, "department": "jyj", "urgency": "一般", "secrecy": secrecy,
            "category": "government_business", "issuer": "政府", "departments": [], "body": "妥否，请批示。",
            "signoff": {"signer": "liangxiaodong", "meeting": "局务会议纪要〔2026〕3号"}, **more}


def built(url: str, **settings):
    system = build_system(url, **settings)
    deploy_xml(system, (REPO / "processes" / "document_approval.bpmn").read_bytes(), "document_approval.bpmn")
    return system


@pytest.fixture
def documents(database_url):
    system = built(database_url)
    yield system
    system.store.dispose()


def at_revise(system, secrecy: str = "无", **more) -> tuple[int, str]:
    """A 请示 sent back by the office (退文): its drafter 沈凯 holds 修改后重新报送, a step that takes files."""
    instance_id = start_instance(system, "shenkai", "document_approval", document(secrecy=secrecy, **more))
    complete(system, "songyang", task(system, instance_id, "receipt").id, {"received": True})
    complete(system, "songyang", task(system, instance_id, "office_review").id,
             {"decision": "退文", "opinion": "请修改"})
    return instance_id, task(system, instance_id, "revise").id


def upload(api: Api, task_id: str, name: str, content: bytes, role: str = "正文", person: str = "shenkai"):
    return api.post(f"/tasks/{task_id}/files", person, data={"role": role, "file": (io.BytesIO(content), name)},
                    content_type="multipart/form-data")


def stored(system) -> tuple[int, int, int]:
    with system.store.read() as session:
        return tuple(session.scalar(select(func.count()).select_from(m)) for m in (Attachment, FileContent, FileChunk))


def test_a_正文_and_an_附件_are_stored_by_hash_in_the_event_and_downloaded_as_uploaded(documents):
    api = Api(create_app(system=documents))
    instance_id, revise = at_revise(documents)
    body = make_docx("关于校舍维修的请示", "区政府：", "我局拟对城区三所小学校舍进行维修。")
    big = PDF + b"%" + b"x" * (3 * CHUNK + 17) + b"\n"         # several chunks
    first = upload(api, revise, "请示正文.docx", body)
    assert first.status_code == 201, first.get_json()
    second = upload(api, revise, "预算表.pdf", big, role="附件")
    assert second.status_code == 201, second.get_json()
    info = first.get_json()
    assert (info["role"], info["version"], info["type"], info["size"]) == ("正文", 1, "docx", len(body))
    attached = events(documents, instance_id, "file_attached")
    assert [json.loads(e.payload)["file"]["sha256"] for e in attached] == [info["sha256"], second.get_json()["sha256"]]
    assert all(e.task_id == revise for e in attached)
    with documents.store.read() as session:
        assert verify(session).ok
        chunks = session.scalar(select(func.count()).select_from(FileChunk).where(
            FileChunk.hash == second.get_json()["sha256"]))
    assert chunks == 4
    for answer, content in ((first, body), (second, big)):
        got = api.get(f"/files/{answer.get_json()['id']}", "shenkai")
        assert got.status_code == 200 and got.data == content
        assert "filename*=UTF-8''" in got.headers["Content-Disposition"]
    listed = api.get(f"/instances/{instance_id}/files", "songyang").get_json()["items"]
    assert [(f["role"], f["name"]) for f in listed] == [("正文", "请示正文.docx"), ("附件", "预算表.pdf")]


def test_each_正文_upload_is_a_new_version_and_the_diff_shows_what_changed(documents):
    api = Api(create_app(system=documents))
    instance_id, revise = at_revise(documents)
    first = make_docx("区政府：", "拟维修三所小学。", "妥否，请批示。")
    upload(api, revise, "正文.docx", first)
    again = upload(api, revise, "正文（修改稿）.docx", make_docx("区政府：", "拟维修五所小学。", "妥否，请批示。"))
    assert again.get_json()["version"] == 2
    diff = api.get(f"/instances/{instance_id}/files/diff?old=1&new=2", "shenkai").get_json()
    assert {"op": "-", "text": "拟维修三所小学。"} in diff["lines"]
    assert {"op": "+", "text": "拟维修五所小学。"} in diff["lines"]
    same = upload(api, revise, "正文.docx", first)         # back to the first text, byte for byte
    assert same.get_json()["version"] == 3
    with documents.store.read() as session:       # the same bytes are stored once
        assert session.scalar(select(func.count()).select_from(FileContent)) == 2


@pytest.mark.parametrize("name", ["a\\b.pdf", "..", ".htaccess", "C:\\报告.pdf", "报告\n.pdf", "x" * 121 + ".pdf"])
def test_names_with_paths_controls_or_too_long_are_refused(name):
    with pytest.raises(FileRefused):
        check_name(name)


def test_docx_text_is_bounded_and_safe():
    assert docx_text(make_docx("第一段", "第二段")) == "第一段\n第二段"
    assert docx_text(b"not a zip") == ""
    assert docx_text(zip_bomb()) == ""
    entity = ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
              '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p>'
              '<w:r><w:t>&x;</w:t></w:r></w:p></w:body></w:document>')
    assert "root:" not in docx_text(zipped({"[Content_Types].xml": "<Types/>", "word/document.xml": entity}))
    laughs = ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "哈哈哈哈哈哈哈哈哈哈">'
              + "".join(f'<!ENTITY {c} "{("&" + p + ";") * 10}">' for p, c in zip("abcdefgh", "bcdefghi", strict=True))
              + ']><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
              '<w:p><w:r><w:t>&i;</w:t></w:r></w:p></w:body></w:document>')       # a billion laughs: 10^9 哈
    assert len(docx_text(zipped({"[Content_Types].xml": "<Types/>", "word/document.xml": laughs}))) < 1000


def zipped(parts: dict[str, str | bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return out.getvalue()


def zip_bomb() -> bytes:
    """A .docx whose document.xml unpacks to 300 MB from a few hundred kilobytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as part:
            block = b"\x00" * (1024 * 1024)
            for _ in range(300):
                part.write(block)
    return out.getvalue()


@pytest.mark.parametrize("name, content, role, status, words", [
    ("正文.exe", b"MZ\x90\x00", "正文", 422, "不接受该类型"),
    ("正文.docx", PDF, "正文", 422, "与扩展名 .docx 不符"),
    ("扫描件.pdf", make_docx("x"), "附件", 422, "与扩展名 .pdf 不符"),
    ("图.png", b"GIF89a....", "附件", 422, "与扩展名 .png 不符"),
    ("炸弹.docx", None, "正文", 422, "压缩炸弹"),
    ("../../etc/passwd.pdf", PDF, "附件", 422, "路径分隔符"),
    ("子目录/报告.pdf", PDF, "附件", 422, "路径分隔符"),
    ("报告\x07.pdf", PDF, "附件", 422, "控制字符"),
    ("报告\u202egpj.pdf", PDF, "附件", 422, "不可见字符"),
    ("空.pdf", b"", "附件", 422, "空文件"),
    ("正文.pdf", PDF, "草稿", 422, "文件类别"),
])
def test_bad_files_are_refused_in_chinese_and_nothing_is_stored(documents, name, content, role, status, words):
    api = Api(create_app(system=documents))
    instance_id, revise = at_revise(documents)
    before, chain = stored(documents), recorded(documents)
    answer = upload(api, revise, name, zip_bomb() if content is None else content, role=role)
    assert answer.status_code == status and words in answer.get_json()["message"], answer.get_json()
    assert stored(documents) == before and recorded(documents) == chain


def test_a_file_over_the_configured_limit_is_refused_413(sqlite_url):
    system = built(sqlite_url, files_max_mb=1)
    api = Api(create_app(system=system))
    _instance_id, revise = at_revise(system)
    answer = upload(api, revise, "大.pdf", PDF + b"x" * (1024 * 1024))
    assert answer.status_code == 413 and "超过大小上限 1 MB" in answer.get_json()["message"]
    assert stored(system) == (0, 0, 0)
    system.store.dispose()


def test_a_type_the_config_leaves_out_is_refused(sqlite_url):
    system = built(sqlite_url, files_types=("docx", "pdf"))
    api = Api(create_app(system=system))
    _instance_id, revise = at_revise(system)
    answer = upload(api, revise, "图.png", PNG, role="附件")
    assert answer.status_code == 422 and "只接受 .docx、.pdf" in answer.get_json()["message"]
    system.store.dispose()


def test_the_same_正文_again_is_no_new_version(documents):
    api = Api(create_app(system=documents))
    _instance_id, revise = at_revise(documents)
    text = make_docx("区政府：", "拟维修三所小学。")
    assert upload(api, revise, "正文.docx", text).status_code == 201
    before, chain = stored(documents), recorded(documents)
    again = upload(api, revise, "正文（再传）.docx", text)
    assert again.status_code == 422 and "与第 1 版正文完全相同" in again.get_json()["message"], again.get_json()
    assert stored(documents) == before and recorded(documents) == chain
    assert upload(api, revise, "附件.docx", text, role="附件").status_code == 201     # as an 附件 it is taken


def recorded(system) -> list[str]:
    """The chain's events but the record of refused writes (audit/refusals.py), which a refusal adds."""
    return [e.hash for e in events(system) if e.type != "write_refused"]


def test_who_may_not_see_a_classified_matter_can_neither_upload_nor_download(documents):
    api = Api(create_app(system=documents))
    instance_id, revise = at_revise(documents, secrecy="机密")
    file_id = upload(api, revise, "正文.pdf", PDF).get_json()["id"]
    before, chain = stored(documents), recorded(documents)
    refused = upload(api, revise, "正文.pdf", PDF + b"%2", person="jiangjianguo")   # 教育局, not on the 分发范围
    assert refused.status_code == 403 and "无权" in refused.get_json()["message"]
    assert stored(documents) == before and recorded(documents) == chain
    assert api.get(f"/files/{file_id}", "jiangjianguo").status_code == 403
    assert api.get(f"/instances/{instance_id}/files", "jiangjianguo").status_code == 403
    assert api.get(f"/files/{file_id}", "wangpeng").status_code == 403               # administrator: not 涉密
    not_holder = upload(api, revise, "正文.pdf", PDF + b"%3", person="songyang")     # sees it, does not hold the step
    assert not_holder.status_code == 403


def test_downloads_by_an_auditor_or_a_non_handler_are_logged_and_the_handlers_are_not(documents):
    api = Api(create_app(system=documents))
    instance_id, revise = at_revise(documents)
    file_id = upload(api, revise, "正文.pdf", PDF).get_json()["id"]
    for person in ("shenkai", "songyang", "xuxiaoling", "jiangjianguo"):    # drafter, clerk, auditor, same 局
        assert api.get(f"/files/{file_id}", person).status_code == 200, person
    logged = [e.actor for e in events(documents, type_="file_read")]
    assert logged == ["xuxiaoling", "jiangjianguo"]
    assert all(e.instance_id is None and f'"instance_id":{instance_id}' in e.payload
               for e in events(documents, type_="file_read"))


def test_a_step_whose_form_takes_no_files_refuses_uploads(documents):
    api = Api(create_app(system=documents))
    instance_id = start_instance(documents, "shenkai", "document_approval", document())
    receipt = task(documents, instance_id, "receipt").id
    answer = upload(api, receipt, "正文.pdf", PDF, person="songyang")
    assert answer.status_code == 422 and "不上传正文" in answer.get_json()["message"]


def test_files_can_live_in_a_configured_directory(tmp_path):
    system = built(f"sqlite:///{tmp_path}/govflow.db", files_dir=tmp_path / "files")
    api = Api(create_app(system=system))
    _instance_id, revise = at_revise(system)
    info = upload(api, revise, "正文.pdf", PDF).get_json()
    assert (tmp_path / "files" / info["sha256"][:2] / info["sha256"]).read_bytes() == PDF
    assert stored(system)[2] == 0                                     # no chunks in the database
    assert api.get(f"/files/{info['id']}", "shenkai").data == PDF
    system.store.dispose()


def test_bytes_changed_in_the_database_are_not_served_as_the_file(sqlite_url):
    system = built(sqlite_url)
    api = Api(create_app(system=system))
    _instance_id, revise = at_revise(system)
    info = upload(api, revise, "正文.pdf", PDF).get_json()
    with system.store.write() as session:
        session.execute(FileChunk.__table__.update().values(data=PDF.replace(b"1.4", b"1.7")))
    with pytest.raises(Exception, match="哈希不符"):
        api.get(f"/files/{info['id']}", "shenkai").get_data()
    system.store.dispose()


# -- backup and restore carry the files ---------------------------------------------------------------------
def govflow(database_url: str, *args: str):
    return CliRunner().invoke(main, ["--database-url", database_url, *args],
                              env={"GOVFLOW_MODE": "test", "GOVFLOW_HOME": str(REPO)})


def with_files(url: str) -> tuple[list[tuple[int, bytes]], int]:
    system = built(url)
    try:
        api = Api(create_app(system=system))
        instance_id, revise = at_revise(system)
        contents = [make_docx("关于校舍维修的请示", "正文"), PDF + b"%" + b"y" * (CHUNK + 5) + b"\n"]
        ids = [upload(api, revise, "正文.docx", contents[0]).get_json()["id"],
               upload(api, revise, "预算.pdf", contents[1], role="附件").get_json()["id"]]
        return list(zip(ids, contents, strict=True)), instance_id
    finally:
        system.store.dispose()


def downloads(url: str, files: list[tuple[int, bytes]]) -> None:
    system = Govflow(Settings(database_url=url, mode="test", home=REPO, secret_key="test"))
    try:
        api = Api(create_app(system=system))
        for file_id, content in files:
            assert api.get(f"/files/{file_id}", "shenkai").data == content
    finally:
        system.store.dispose()


def test_a_sqlite_backup_carries_the_files_and_a_changed_chunk_is_found(tmp_path):
    url = f"sqlite:///{tmp_path}/govflow.db"
    files, _instance_id = with_files(url)
    copy = tmp_path / "backup.db"
    taken = govflow(url, "backup", str(copy))
    assert taken.exit_code == 0, taken.output
    target = f"sqlite:///{tmp_path}/restored.db"
    restored = govflow(target, "restore", str(copy))
    assert restored.exit_code == 0, restored.output
    downloads(target, files)
    with closing(sqlite3.connect(copy)) as db, db:
        db.execute("UPDATE file_chunk SET data = ? WHERE n = 1", (b"tampered",))
    refused = govflow(f"sqlite:///{tmp_path}/other.db", "restore", str(copy))
    assert refused.exit_code != 0 and "SHA-256 不符" in refused.output


@pytest.mark.postgres
def test_a_postgres_backup_carries_the_files(pg_admin, pg_database, tmp_path):
    files, _instance_id = with_files(pg_database)
    archive = tmp_path / "govflow.dump"
    taken = govflow(pg_database, "backup", str(archive))
    assert taken.exit_code == 0, taken.output
    name = f"govflow_f_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        fresh = make_url(pg_database).set(database=name).render_as_string(hide_password=False)
        restored = govflow(fresh, "restore", str(archive))
        assert restored.exit_code == 0, restored.output
        downloads(fresh, files)
    finally:
        with pg_admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# -- the archive package ----------------------------------------------------------------------------------
ANSWERS = {"receipt": {"received": True}, "office_review": {"decision": "拟办", "opinion": "拟办"},
           "leader_review": {"decision": "同意", "opinion": "同意"}, "signing": {"decision": "同意", "opinion": "同意"},
           "publish": {"copies": 30, "distribution": "各镇人民政府、街道办事处"}}


def to_the_end(system, instance_id: int) -> None:
    for _ in range(20):
        rows = open_tasks(system, instance_id)
        if not rows:
            return
        row = rows[0]
        data = ({**document(), "revise_action": "重新报送", "response": "已按意见修改"} if row.step_id == "revise"
                else ANSWERS[row.step_id])
        complete(system, holder(system, row), row.id, data)
    raise AssertionError([r.step_id for r in open_tasks(system, instance_id)])


@pytest.fixture
def archived(sqlite_url, tmp_path):
    """A 请示 with two 正文 versions and an 附件, done (办结), and its archive package."""
    system = built(sqlite_url)
    api = Api(create_app(system=system))
    instance_id, revise = at_revise(system)
    upload(api, revise, "正文.docx", make_docx("拟维修三所小学。"))
    upload(api, revise, "正文.docx", make_docx("拟维修五所小学。"))
    upload(api, revise, "预算.pdf", PDF, role="附件")
    refused = govflow(sqlite_url, "archive", "--output", str(tmp_path / "out"), "--instance", str(instance_id))
    assert refused.exit_code != 0 and "尚未办结" in refused.output
    to_the_end(system, instance_id)
    made = govflow(sqlite_url, "archive", "--output", str(tmp_path / "out"))
    assert made.exit_code == 0, made.output
    replayed = govflow(sqlite_url, "audit", "reexecute", "--instance", str(instance_id))   # files do not disturb replay
    assert replayed.exit_code == 0, replayed.output
    system.store.dispose()
    return tmp_path / "out" / f"govflow-archive-{instance_id}.zip", instance_id


def test_an_archive_package_holds_the_matter_and_verifies_offline(archived):
    path, instance_id = archived
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        metadata = json.loads(archive.read("metadata.json"))
        assert docx_text(archive.read("正文/第2版-正文.docx")) == "拟维修五所小学。"
    assert {"metadata.json", "events.jsonl", "manifest.json", "正文/第1版-正文.docx", "附件/01-预算.pdf"} <= names
    assert metadata["instance_id"] == instance_id and metadata["secrecy"] == "无" and metadata["ended_at"]
    assert [s["step"] for s in metadata["steps"]][:3] == ["receipt", "office_review", "revise"]
    checked = govflow("sqlite:///unused.db", "archive", "verify", str(path))
    assert checked.exit_code == 0 and "校验通过" in checked.output, checked.output


def test_the_instance_page_of_a_done_matter_offers_its_archive_package(sqlite_url, tmp_path):
    system = built(sqlite_url)
    api = Api(create_app(system=system))
    instance_id, revise = at_revise(system)
    upload(api, revise, "正文.docx", make_docx("拟维修三所小学。"))
    to_the_end(system, instance_id)
    client, _csrf = page_client(system, "shenkai")
    assert "下载归档包" in client.get(f"/instances/{instance_id}").get_data(True)
    package = client.get(f"/instances/{instance_id}/archive.zip")
    assert package.status_code == 200 and package.mimetype == "application/zip"
    (tmp_path / "p.zip").write_bytes(package.data)
    checked = govflow("sqlite:///unused.db", "archive", "verify", str(tmp_path / "p.zip"))
    assert checked.exit_code == 0, checked.output
    outsider, _csrf = page_client(system, "shuitianming")
    assert outsider.get(f"/instances/{instance_id}/archive.zip").status_code == 403
    system.store.dispose()


def rewritten(path, tmp_path, change) -> str:
    """The package with one member changed by ``change(name, bytes) -> bytes | None`` (None drops it)."""
    out = tmp_path / "changed.zip"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            data = change(name, source.read(name))
            if data is not None:
                target.writestr(name, data)
    return str(out)


@pytest.mark.parametrize("change, says", [
    (lambda n, d: PDF + b"%forged\n" if n == "附件/01-预算.pdf" else d,
     "附件/01-预算.pdf 的内容与清单记录的 SHA-256 不符"),
    (lambda n, d: None if n == "正文/第1版-正文.docx" else d, "正文/第1版-正文.docx 不在归档包中"),
    (lambda n, d: d.replace(b'"decision": "\\u62df\\u529e"', b'"decision": "x"')
     .replace("拟办".encode(), "退文".encode()) if n == "events.jsonl" else d, "的哈希与其内容不符"),
    (lambda n, d: d.replace(b'"retention"', b'"retention_"') if n == "metadata.json" else d,
     "metadata.json 的内容与清单记录的 SHA-256 不符"),
])
def test_a_changed_archive_package_is_refused_naming_what_is_wrong(archived, tmp_path, change, says):
    path, _instance_id = archived
    checked = govflow("sqlite:///unused.db", "archive", "verify", rewritten(path, tmp_path, change))
    assert checked.exit_code == 1 and says in checked.output, checked.output


def test_a_file_replaced_with_a_recomputed_manifest_is_still_found(archived, tmp_path):
    path, _instance_id = archived
    forged = PDF + b"%forged\n"

    def change(name, data):
        if name == "附件/01-预算.pdf":
            return forged
        if name == "manifest.json":
            manifest = json.loads(data)
            manifest["members"]["附件/01-预算.pdf"] = hashlib.sha256(forged).hexdigest()
            manifest["digest"] = archive_digest(manifest)
            return json.dumps(manifest, ensure_ascii=False)
        if name == "metadata.json":
            return data       # the metadata keeps the true hash: the file no longer matches it or its event
        return data
    checked = govflow("sqlite:///unused.db", "archive", "verify", rewritten(path, tmp_path, change))
    assert checked.exit_code == 1 and "附加它的事件所记的 SHA-256 不符" in checked.output, checked.output


# -- the pages -----------------------------------------------------------------------------------------------
def test_in_the_browser_a_docx_and_a_pdf_are_uploaded_listed_compared_and_downloaded(browse, site, tmp_path):
    _instance_id, revise = at_revise(site)
    body, appendix = make_docx("区政府：", "拟维修三所小学。"), PDF + b"%appendix\n"
    (tmp_path / "请示正文.docx").write_bytes(body)
    (tmp_path / "预算表.pdf").write_bytes(appendix)
    (tmp_path / "修改稿.docx").write_bytes(make_docx("区政府：", "拟维修五所小学。"))
    (tmp_path / "伪装.pdf").write_bytes(make_docx("不是 PDF"))
    page = browse("shenkai")
    page.goto(f"/tasks/{revise}")
    form = page.locator("form.upload")
    form.locator("input[name='file_正文']").set_input_files(str(tmp_path / "请示正文.docx"))
    form.locator("input[name='file_附件']").set_input_files(str(tmp_path / "预算表.pdf"))
    form.locator("button").click()
    page.wait_for_load_state()
    assert "已上传：请示正文.docx、预算表.pdf" in page.locator(".notice").inner_text()
    listed = page.locator("table.files-list").inner_text()
    assert "正文（第 1 版）" in listed and "预算表.pdf" in listed
    for name, content in (("请示正文.docx", body), ("预算表.pdf", appendix)):
        with page.expect_download() as download:
            page.click(f"table.files-list a:has-text('{name}')")
        assert download.value.suggested_filename == name
        assert open(download.value.path(), "rb").read() == content
    page.locator("form.upload input[name='file_附件']").set_input_files(str(tmp_path / "伪装.pdf"))
    page.locator("form.upload button").click()
    page.wait_for_load_state()
    assert "与扩展名 .pdf 不符" in page.locator("main").inner_text()
    page.locator("form.upload input[name='file_正文']").set_input_files(str(tmp_path / "修改稿.docx"))
    page.locator("form.upload button").click()
    page.wait_for_load_state()
    assert "正文（第 2 版）" in page.locator("table.files-list").inner_text()
    page.click("button:has-text('查看修改')")
    page.wait_for_load_state()
    changed = page.locator("table.diff").inner_text()
    assert "拟维修三所小学。" in changed and "拟维修五所小学。" in changed
    shot(page, "files-diff")


def page_client(system, person: str):
    client = create_app(system=system).test_client()
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").get_data(True)).group(1)
    assert client.post("/login", data={"csrf": csrf, "username": person, "password": "demo"}).status_code == 302
    return client, csrf


def test_the_start_form_takes_the_正文_and_附件_in_the_start_transaction(sqlite_url):
    system = built(sqlite_url)
    client, csrf = page_client(system, "shenkai")
    page = client.get("/processes/document_approval/start").get_data(True)
    assert 'enctype="multipart/form-data"' in page and 'name="file_正文"' in page
    fields = {"csrf": csrf, "f.doc_type": "请示", "f.title": "关于校舍维修的请示", "f.department": "jyj",
              "f.urgency": "一般", "f.secrecy": "无", "f.category": "government_business", "f.issuer": "政府",
              "f.body": "妥否，请批示。", "f.signoff.signer": "liangxiaodong",
              "f.signoff.meeting": "局务会议纪要〔2026〕3号"}
    bad = client.post("/processes/document_approval/start", content_type="multipart/form-data",
                      data={**fields, "file_正文": (io.BytesIO(PDF), "正文.docx")})
    assert bad.status_code == 422 and "与扩展名 .docx 不符" in bad.get_data(True)
    assert stored(system) == (0, 0, 0) and not events(system, type_="instance_started")
    started = client.post("/processes/document_approval/start", content_type="multipart/form-data",
                          data={**fields, "file_正文": (io.BytesIO(make_docx("正文")), "正文.docx"),
                                "file_附件": [(io.BytesIO(PDF), "附件一.pdf"), (io.BytesIO(PNG), "附件二.png")]})
    assert started.status_code == 302, started.get_data(True)[:2000]
    instance_id = int(started.headers["Location"].rsplit("/", 1)[-1])
    attached = events(system, instance_id, "file_attached")
    assert [json.loads(e.payload)["file"]["name"] for e in attached] == ["正文.docx", "附件一.pdf", "附件二.png"]
    shown = client.get(f"/instances/{instance_id}").get_data(True)
    assert "附件一.pdf" in shown and "上传文件" in shown
    system.store.dispose()


# -- 第二十五条: a 正文 changed after 签发 goes back to the signer --------------------------------------------
def at_publish(system, api: Api) -> tuple[int, str]:
    """A 请示 whose 正文 (第 1 版) was uploaded before it was signed, now at 印发."""
    instance_id, revise = at_revise(system)
    upload(api, revise, "正文.docx", make_docx("拟维修三所小学。"))
    for _ in range(20):
        rows = open_tasks(system, instance_id)
        if rows[0].step_id == "publish":
            return instance_id, rows[0].id
        data = ({**document(), "revise_action": "重新报送", "response": "已改"} if rows[0].step_id == "revise"
                else ANSWERS[rows[0].step_id])
        complete(system, holder(system, rows[0]), rows[0].id, data)
    raise AssertionError("no 印发")


def test_a_正文_changed_after_signing_goes_back_to_the_signer_before_it_is_issued(documents):
    api = Api(create_app(system=documents))
    instance_id, publish = at_publish(documents, api)
    signer = task_history_signer(documents, instance_id)
    clerk = holder(documents, task(documents, instance_id, "publish"))
    changed = upload(api, publish, "正文（定稿）.docx", make_docx("拟维修五所小学。"), person=clerk)
    assert changed.status_code == 201, changed.get_json()
    complete(documents, clerk, publish, ANSWERS["publish"])
    resign = task(documents, instance_id, "resign")                      # 复审, not 已印发
    assert resign.assignee == signer
    shown = api.get(f"/tasks/{resign.id}", signer).get_json()
    assert shown["step"] == "resign"
    recheck = [json.loads(e.payload) for e in events(documents, instance_id, "service_task")
               if json.loads(e.payload).get("task") == "recheck"][-1]
    assert recheck["result"]["changed"] and recheck["result"]["later_versions"] == [2]
    assert recheck["result"]["findings"][0]["article"] == "党政机关公文处理工作条例 第二十五条"
    diff = api.get(f"/instances/{instance_id}/files/diff?old=1&new=2", signer).get_json()
    assert {"op": "+", "text": "拟维修五所小学。"} in diff["lines"]
    complete(documents, signer, resign.id, ANSWERS["signing"])
    again = task(documents, instance_id, "publish")
    complete(documents, holder(documents, again), again.id, ANSWERS["publish"])
    assert not open_tasks(documents, instance_id)                        # issued after the 复审
    with documents.store.read() as session:
        assert session.get(Instance, instance_id).status == "completed"


def test_a_正文_unchanged_since_signing_is_issued_at_once(documents):
    api = Api(create_app(system=documents))
    instance_id, publish = at_publish(documents, api)
    complete(documents, holder(documents, task(documents, instance_id, "publish")), publish, ANSWERS["publish"])
    assert not open_tasks(documents, instance_id)


def test_the_issued_document_prints_the_text_of_the_signed_正文(documents):
    """After a 复审 the issued PDF carries the re-signed .docx's words, not the start form's text."""
    api = Api(create_app(system=documents))
    instance_id, publish = at_publish(documents, api)
    clerk = holder(documents, task(documents, instance_id, "publish"))
    upload(api, publish, "正文（定稿）.docx", make_docx("区政府：", "拟维修五所小学。"), person=clerk)
    complete(documents, clerk, publish, ANSWERS["publish"])
    resign = task(documents, instance_id, "resign")
    complete(documents, resign.assignee, resign.id, ANSWERS["signing"])
    again = task(documents, instance_id, "publish")
    complete(documents, holder(documents, again), again.id, ANSWERS["publish"])
    with documents.store.read() as session:
        pdf = printouts.paper(documents, session, session.get(Instance, instance_id), "issued").pdf
    with pdfplumber.open(io.BytesIO(pdf)) as issued:
        words = "".join("".join(page.extract_text().split()) for page in issued.pages)
    assert "拟维修五所小学。" in words and "拟维修三所小学" not in words
    assert "妥否，请批示。" not in words                # the form's body text gives way to the 正文 file


def task_history_signer(system, instance_id: int) -> str:
    signed = [e for e in events(system, instance_id, "task_completed")
              if json.loads(e.payload).get("step") == "signing"]
    return signed[-1].actor


@pytest.mark.parametrize("content, kind", [
    (make_docx("x"), "docx"),
    (zipped({"[Content_Types].xml": "<Types/>", "xl/workbook.xml": "<workbook/>"}), "xlsx"),
    (zipped({"OFD.xml": "<ofd:OFD/>", "Doc_0/Document.xml": "<d/>"}), "ofd"),
    (zipped({"材料/说明.txt": "说明"}), "zip"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504, "ole"),      # Word 97-2003 and WPS 文字
    (PDF, "pdf"), (PNG, "png"), (b"\xff\xd8\xff\xe0" + b"\x00" * 16, "jpg"),
    (b"PK\x03\x04 not really a zip", "unknown"), (b"<html><script>", "unknown"),
])
def test_a_files_type_is_what_its_bytes_are(content, kind):
    assert sniff(io.BytesIO(content)) == kind


def test_the_steps_that_take_files_are_the_ones_a_clerk_expects():
    taken = {path.name: form_roles(json.loads(path.read_text(encoding="utf-8")))
             for path in sorted((REPO / "forms").glob("*.json"))}
    assert {name: roles for name, roles in taken.items() if roles} == {
        "document_submit.json": ("正文", "附件"),          # 报送公文, 修改后重新报送
        "document_publish.json": ("正文", "附件"),         # 印发: the 定稿 (a change goes back to the signer, D12)
        "department_feedback.json": ("附件",),            # 承办: 办理并反馈结果
        "followup_report.json": ("附件",),                # 督办: 报告办理情况
        "followup_contribution.json": ("附件",),          # 督办: 协办单位配合情况
        "topic_draft.json": ("正文", "附件"),              # 议题材料
        "topic_revise.json": ("正文", "附件"),
        "topic_meeting_prep.json": ("正文", "附件"),       # 报送上会材料
    }


def test_a_督办_report_and_a_topic_carry_files_too(bazhou):
    """办理情况报告 (decision_followup) and 议题材料 (topic_submission) take files as documents do."""
    people, api = People("bazhou"), Api(create_app(system=bazhou))
    lead, other = lead_and_other(people.org)
    item = by_hand(bazhou, people, lead, [other], "2026-12-31")
    report = next(t for t in open_tasks(bazhou, item) if t.step_id == "progress_report")
    answer = upload(api, report.id, "整治情况照片.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 64, role="附件",
                    person=holder(bazhou, report))
    assert answer.status_code == 201, answer.get_json()
    assert upload(api, report.id, "报告.docx", make_docx("x"), person=holder(bazhou, report)).status_code == 422
    topic = start_instance(bazhou, people.staff(lead), "topic_submission", simple_topic(people.org))
    with bazhou.store.write() as session:     # 议题材料 at the start, as the start page attaches them
        received = files_work.receive(bazhou, io.BytesIO(make_docx("汇报材料")), "汇报材料.docx", "正文")
        files_work.attach_at_start(bazhou, session, actor(bazhou, people.staff(lead)),
                                   session.get(Instance, topic), [received])
    listed = api.get(f"/instances/{topic}/files", people.staff(lead)).get_json()["items"]
    assert [(f["role"], f["name"], f["step"]) for f in listed] == [("正文", "汇报材料.docx", "start")]
