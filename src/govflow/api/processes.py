"""Process definitions: list, deploy (designers), read a version's BPMN."""
from __future__ import annotations

from flask import Response, jsonify, request
from sqlalchemy import select

from ..bpmn.deploy import deploy
from ..errors import NotFound, ValidationFailed
from ..store.models import Blob, ProcessVersion
from ..time.timeutil import isoformat
from . import bp, gf, require


@bp.get("/processes")
def list_processes():
    with gf().store.read() as session:
        versions = session.scalars(select(ProcessVersion).order_by(ProcessVersion.process_id,
                                                                   ProcessVersion.version)).all()
    processes: dict[str, dict] = {}
    for v in versions:
        entry = processes.setdefault(v.process_id, {"process_id": v.process_id, "versions": []})
        entry["name"] = v.name
        entry["versions"].append({"version": v.version, "deployed_at": isoformat(v.deployed_at),
                                  "deployed_by": v.deployed_by, "bpmn_hash": v.bpmn_hash, "filename": v.filename})
    return jsonify({"items": list(processes.values())})


@bp.post("/processes")
def deploy_process():
    user = require("designer", "admin")
    content, filename, forms = _upload()
    result = deploy(gf(), content, filename, user.id, forms)
    return jsonify(result), 201


def _upload() -> tuple[bytes, str, dict[str, str]]:
    if request.files:
        upload = request.files.get("file")
        if upload is None:
            raise ValidationFailed("缺少流程图文件（字段 file）", [{"field": "file", "reason": "必填"}])
        forms = {}
        for field, item in request.files.items(multi=True):
            if field == "form":
                forms[item.filename] = _utf8(item.read(), item.filename)
        return upload.read(), upload.filename or "upload.bpmn", forms
    content = request.get_data()
    if not content:
        raise ValidationFailed("请求体为空：请上传 BPMN 文件", [{"field": "body", "reason": "为空"}])
    return content, request.args.get("filename", "upload.bpmn"), {}


def _utf8(data: bytes, name: str | None) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed(f"表单 {name} 不是 UTF-8 文本", [{"field": "form", "reason": str(name)}]) from None


@bp.get("/processes/<process_id>/versions/<int:version>/bpmn")
def process_bpmn(process_id: str, version: int):
    with gf().store.read() as session:
        row = session.scalars(select(ProcessVersion).where(ProcessVersion.process_id == process_id,
                                                           ProcessVersion.version == version)).first()
        if row is None:
            raise NotFound(f"流程 {process_id} 没有第 {version} 版")
        return Response(session.get(Blob, row.bpmn_hash).content, mimetype="application/xml")
