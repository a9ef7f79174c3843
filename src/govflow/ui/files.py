"""正文 and 附件 on the pages: the files section of a task page (versions, download, upload where
the step's form asks for files), downloads, and the text difference of two .docx 正文 versions."""
from __future__ import annotations

import tempfile

from flask import Response, flash, g, redirect, render_template, request, url_for
from werkzeug.wsgi import wrap_file

from ..api.files import sent
from ..audit import archive, readings
from ..errors import GovflowError
from ..records import files as records
from ..store.models import Instance
from ..work import files
from . import bp, gf, login_required


def section(system, db, actor, instance_id: int, shown: dict | None = None) -> dict:
    """What the files section shows: the matter's files, and the roles this step takes uploads of."""
    listed = files.visible_files(system, db, actor, instance_id)
    may_upload = bool(shown and shown.get("may_act") and shown.get("kind") == "task" and shown.get("state") == "open")
    roles = records.form_roles(shown.get("form")) if may_upload else ()
    texts = [a for a in listed if a.role == "正文" and a.kind == "docx"]
    completed = db.get(Instance, instance_id).status == "completed"
    return {"rows": listed, "roles": roles, "instance_id": instance_id, "task_id": (shown or {}).get("id"),
            "completed": completed,
            "comparable": sorted(a.version for a in texts), "max_mb": system.settings.files_max_mb,
            "accept": ",".join(f".{t}" for t in system.settings.files_types)}


def uploads(system, form_files, role: str = "") -> list:
    """The files of a multipart form's ``file_正文`` / ``file_附件`` inputs, read and checked."""
    received = []
    try:
        for role in records.ROLES:
            for upload in form_files.getlist(f"file_{role}"):
                if upload.filename:
                    received.append(files.receive(system, upload.stream, upload.filename, role))
    except BaseException:
        for item in received:
            item.close()
        raise
    return received


@bp.post("/tasks/<task_id>/files")
@login_required
def upload(task_id: str):
    from .tasks import _page
    system = gf()
    try:
        received = uploads(system, request.files)
        if not received:
            return _page(task_id, message="请选择要上传的文件", status=422)
        try:
            with system.store.write() as db:
                for item in received:
                    files.attach_at_task(system, db, g.actor, task_id, item)
        finally:
            for item in received:
                item.close()
    except GovflowError as refused:
        return _page(task_id, message=refused.message, status=refused.status)
    flash("已上传：" + "、".join(item.name for item in received))
    return redirect(url_for("ui.task", task_id=task_id))


@bp.get("/files/<int:file_id>")
@login_required
def download(file_id: int):
    system = gf()
    return sent(system, files.open_download(system, g.actor, file_id))


@bp.get("/instances/<int:instance_id>/files/diff")
@login_required
def diff(instance_id: int):
    system = gf()
    old, new = request.args.get("old", type=int), request.args.get("new", type=int)
    with system.store.read() as db:
        found = files.diff(system, db, g.actor, instance_id, old or 0, new or 0)
    return render_template("files_diff.html", instance_id=instance_id, diff=found)


@bp.get("/instances/<int:instance_id>/archive.zip")
@login_required
def archive_package(instance_id: int):
    """The archive package of a 办结 matter, for those who may see it (an auditor's reading logged)."""
    system = gf()
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)    # the files go in a chunk at a time
    with system.store.read() as db:
        files.visible_files(system, db, g.actor, instance_id)       # refused for who may not see the matter
        archive.package(db, files.contents(system), instance_id, system.settings.archive_retention,
                        system.now(db), spool)
    readings.record_view(system, g.actor, "archive_package", instance_id)
    size = spool.tell()
    spool.seek(0)
    return Response(wrap_file(request.environ, spool, buffer_size=256 * 1024), mimetype="application/zip",
                    direct_passthrough=True, headers={
                        "Content-Disposition": f'attachment; filename="govflow-archive-{instance_id}.zip"',
                        "Content-Length": str(size)})
