"""The designer's pages: process definitions and versions, the bpmn-js modeler with server-side
validation and deploy, and the JSON Schema forms.

The modeler sends the diagram's XML (and every form it holds) as JSON; validation runs the deploy
checks without storing, deploy stores a new version. The forms a version was deployed with travel
with it: the page sends them back on deploy, so a form changes only when a designer edits it."""
from __future__ import annotations

import json
import re

from flask import abort, g, jsonify, render_template, request, url_for
from sqlalchemy import select

from ..bpmn import xml as bpmn_xml
from ..bpmn.deploy import FormSource, check, deploy
from ..engine import forms as form_files
from ..engine import operators
from ..errors import NotFound, ValidationFailed
from ..people.org import LANE_ROLES
from ..store.models import Blob, ProcessVersion
from . import bp, csrf_token, gf, login_required, require_role, schema_form, vendor_installed

PROCESS_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,59}$")
DESIGNERS = ("designer", "admin")
STARTER_FORM = "designer_new_form.json"     # what a new diagram's task, or a new form, starts with


@bp.get("/designer")
@login_required
def designer():
    require_role(*DESIGNERS)
    with gf().store.read() as db:
        rows = db.scalars(select(ProcessVersion).order_by(ProcessVersion.process_id,
                                                          ProcessVersion.version.desc())).all()
    processes: dict[str, list[ProcessVersion]] = {}
    for row in rows:
        processes.setdefault(row.process_id, []).append(row)
    return render_template("designer.html", processes=processes)


@bp.get("/designer/<process_id>/<int:version>")
@login_required
def designer_modeler(process_id: str, version: int):
    require_role(*DESIGNERS)
    with gf().store.read() as db:
        row = db.scalars(select(ProcessVersion).where(ProcessVersion.process_id == process_id,
                                                      ProcessVersion.version == version)).first()
        if row is None:
            raise NotFound(f"流程 {process_id} 没有第 {version} 版")
        xml = db.get(Blob, row.bpmn_hash).content
        forms = {name: db.get(Blob, digest).content for name, digest in json.loads(row.forms).items()}
    return _modeler(row.name, process_id, xml, row.filename, forms, row)


@bp.get("/designer/new")
@login_required
def designer_new():
    """A minimal diagram that passes the checks: a lane, a start event, one user task with a new
    form of its own, an end event."""
    require_role(*DESIGNERS)
    process_id = request.args.get("process_id", "").strip()
    name = request.args.get("name", "").strip()
    if not PROCESS_ID.match(process_id):
        abort(400, "流程标识须以英文字母开头，只含英文字母、数字和下划线（至多 60 个字符）")
    if not name or len(name) > 100:
        abort(400, "请填写流程名称（至多 100 个字）")
    with gf().store.read() as db:
        if db.scalar(select(ProcessVersion.id).where(ProcessVersion.process_id == process_id).limit(1)):
            abort(400, f"流程标识 {process_id} 已被使用：请在列表中打开它，或换一个标识")
    form = f"{process_id}_handle.json"
    xml = render_template("designer_new.bpmn.xml", process_id=process_id, name=name, form=form)
    return _modeler(name, process_id, xml, f"{process_id}.bpmn", {form: render_template(STARTER_FORM)}, None)


@bp.post("/designer/upload")
@login_required
def designer_upload():
    """A .bpmn file made in another modeler, opened in the modeler as it is (nothing stored): the
    designer checks it there, sees its problems on the diagram, fixes them and deploys."""
    require_role(*DESIGNERS)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        abort(400, "请选择要上传的 BPMN 文件（.bpmn 或 .xml）")
    content = upload.read()
    try:
        tree = bpmn_xml.read(content)
    except bpmn_xml.Unreadable as err:
        abort(400, f"{upload.filename} 无法打开：{err.problem.reason}")
    processes = tree.getroot().findall(f"{{{bpmn_xml.NS['bpmn']}}}process")
    if not processes:
        abort(400, f"{upload.filename} 中没有流程（bpmn:process），无法在建模器中打开")
    first = next((p for p in processes if p.get("isExecutable") == "true"), processes[0])
    process_id = first.get("id") or "process"
    name = first.get("name") or process_id
    return _modeler(name, process_id, content.decode("utf-8"), upload.filename[:200], {}, None, uploaded=True)


def _modeler(title: str, process_id: str, xml: str, filename: str, forms: dict[str, str],
             version: ProcessVersion | None, uploaded: bool = False):
    page = {
        "xml": xml, "filename": filename, "version": version.version if version else None,
        "forms": forms, "starterForm": render_template(STARTER_FORM), "csrf": csrf_token(),
        "moddle": url_for("static", filename="js/spiffworkflow-moddle.json"),
        "urls": {"validate": url_for("ui.designer_validate"), "deploy": url_for("ui.designer_deploy"),
                 "form": url_for("ui.designer_form", name="NAME"), "preview": url_for("ui.designer_form_preview")},
        "operators": [{"name": op.name, "description": op.description}
                      for op in sorted(operators.registry().values(), key=lambda op: op.name)],
        "lanes": list(LANE_ROLES),
        "formFiles": sorted(path.name for path in gf().settings.forms_dir.glob("*.json")),
    }
    return render_template("designer_modeler.html", title=title, process_id=process_id, version=version,
                           page=page, ready=vendor_installed(), uploaded=uploaded, filename=filename)


# -- what the modeler posts ----------------------------------------------------------------------------------------
@bp.post("/designer/validate")
@login_required
def designer_validate():
    """The deploy checks on the modeler's XML, storing nothing."""
    require_role(*DESIGNERS)
    try:
        content, filename, forms = _posted()
    except ValidationFailed as err:
        return _refused(err)
    checked = check(content, filename, FormSource(gf().settings.forms_dir, forms))
    return jsonify({"passed": not checked.errors, "problems": [p.to_dict() for p in checked.problems]})


@bp.post("/designer/deploy")
@login_required
def designer_deploy():
    require_role(*DESIGNERS)
    try:
        content, filename, forms = _posted()
        result = deploy(gf(), content, filename, g.actor.id, forms)
    except ValidationFailed as err:
        return _refused(err)
    versions = [{**v, "url": url_for("ui.designer_modeler", process_id=v["process_id"], version=v["version"])}
                for v in result["versions"]]
    return jsonify({"versions": versions, "warnings": result["warnings"],
                    "message": "；".join(_deployed(v) for v in versions)}), 201


def _deployed(version: dict) -> str:
    if version["unchanged"]:
        return f"{version['name']}与第 {version['version']} 版相同，未部署新版本"
    return f"{version['name']}已部署为第 {version['version']} 版"


def _posted() -> tuple[bytes, str, dict[str, str]]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("xml"), str) or not body["xml"].strip():
        raise ValidationFailed("请求有误：须提交流程图的 XML 文本")
    forms = body.get("forms") or {}
    if not isinstance(forms, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in forms.items()):
        raise ValidationFailed("请求有误：表单须为“文件名: JSON 文本”")
    filename = body.get("filename") if isinstance(body.get("filename"), str) else ""
    return body["xml"].encode("utf-8"), filename or "designer.bpmn", forms


def _refused(err: ValidationFailed):
    return jsonify({"message": err.message, "problems": err.details}), err.status


# -- forms -----------------------------------------------------------------------------------------------------------
@bp.get("/designer/forms/<name>")
@login_required
def designer_form(name: str):
    """A form's text as ``forms/`` has it (the modeler already holds the ones its version stored)."""
    require_role(*DESIGNERS)
    try:
        text, _ = form_files.load(gf().settings.forms_dir, name)
    except form_files.FormInvalid as err:
        return jsonify({"message": str(err)}), 404
    return jsonify({"name": name, "text": text})


@bp.post("/designer/forms/preview")
@login_required
def designer_form_preview():
    """Check a form's JSON text and render it as a task page would."""
    require_role(*DESIGNERS)
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("text"), str):
        return jsonify({"message": "请求有误：须提交表单的 JSON 文本"}), 400
    name = body.get("name") if isinstance(body.get("name"), str) else "表单"
    try:
        schema = form_files.check_schema_text(body["text"], name)
    except form_files.FormInvalid as err:
        return jsonify({"message": str(err)}), 422
    try:
        html = schema_form.render(schema, prefix="preview.")
    except (AttributeError, KeyError, TypeError):     # valid JSON Schema the field renderer has no field for
        return jsonify({"message": f"表单 {name} 无法显示为页面字段：请把每个字段写成带 type 的对象（如 "
                                   '{"type": "string", "title": "意见"}）'}), 422
    return jsonify({"html": str(html)})
