"""正文 and 附件: list a matter's files, upload at a step, download, compare two 正文 versions."""
from __future__ import annotations

from flask import Response, jsonify, request

from ..errors import ValidationFailed
from ..records.files import FileRefused
from ..time.timeutil import isoformat
from ..work import files
from . import actor, bp, gf, int_arg


def describe(a) -> dict:
    return {"id": a.id, "role": a.role, "version": a.version, "name": a.name, "type": a.kind, "size": a.size,
            "sha256": a.hash, "step": a.step_id, "task_id": a.task_id, "uploaded_by": a.uploaded_by,
            "uploaded_at": isoformat(a.uploaded_at)}


@bp.get("/instances/<int:instance_id>/files")
def list_files(instance_id: int):
    system = gf()
    with system.store.read() as session:
        return jsonify({"items": [describe(a) for a in files.visible_files(system, session, actor(), instance_id)]})


@bp.post("/tasks/<task_id>/files")
def upload_file(task_id: str):
    upload, system = request.files.get("file"), gf()
    if upload is None:
        raise FileRefused("请选择要上传的文件（multipart 字段 file）", [{"field": "file", "reason": "缺少文件"}])
    received = files.receive(system, upload.stream, upload.filename, request.form.get("role", ""))
    try:
        with system.store.write() as session:
            attached = describe(files.attach_at_task(system, session, actor(), task_id, received))
    finally:
        received.close()
    return jsonify(attached), 201


@bp.get("/files/<int:file_id>")
def download_file(file_id: int):
    system = gf()
    return sent(system, files.open_download(system, actor(), file_id))


def sent(system, download: files.Download) -> Response:
    """The file as an attachment, streamed, under its own name (RFC 5987 for the Chinese)."""
    from urllib.parse import quote
    a = download.attachment
    headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(a.name)}",
               "Content-Length": str(a.size), "X-Content-Type-Options": "nosniff", "ETag": f'"{a.hash}"'}
    return Response(files.stream(system, a.hash), mimetype=download.mime, headers=headers)


@bp.get("/instances/<int:instance_id>/files/diff")
def diff_files(instance_id: int):
    old, new, system = int_arg("old", 0, 0, 10_000), int_arg("new", 0, 0, 10_000), gf()
    if not old or not new:
        raise ValidationFailed("请指定要比较的两个版本（old、new）", [{"field": "old", "reason": "必填"}])
    with system.store.read() as session:
        found = files.diff(system, session, actor(), instance_id, old, new)
    return jsonify({**found, "lines": [{"op": op, "text": text} for op, text in found["lines"]]})
