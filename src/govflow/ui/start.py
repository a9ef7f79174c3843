"""发起: the processes a person can start, and the start form of each (its JSON Schema)."""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request
from sqlalchemy import func, select

from ..errors import GovflowError, RuleBlocked, ValidationFailed
from ..records.files import form_roles
from ..store.models import ProcessVersion
from ..work import files, instances
from . import AUDITOR_STARTS_NOTHING, bp, gf, login_required, schema_form
from .files import uploads


# Auditors read everything and change nothing (api.AUDITOR_READS_ONLY): 发起 is not theirs to use.
def _not_for_auditors() -> None:
    if g.actor.has("auditor"):
        abort(403, AUDITOR_STARTS_NOTHING)


@bp.get("/start")
@login_required
def start_list():
    _not_for_auditors()
    with gf().store.read() as db:
        latest = select(ProcessVersion.process_id, func.max(ProcessVersion.version).label("version")).group_by(
            ProcessVersion.process_id).subquery()
        versions = db.scalars(select(ProcessVersion).join(latest, (ProcessVersion.process_id == latest.c.process_id)
                                                          & (ProcessVersion.version == latest.c.version))
                              .order_by(ProcessVersion.name)).all()
    return render_template("start_list.html", versions=versions)


@bp.route("/processes/<process_id>/start", methods=["GET", "POST"])
@login_required
def start_process(process_id: str):
    _not_for_auditors()
    system = gf()
    with system.store.read() as db:
        definition = system.definitions.latest(db, process_id)
    schema = definition.forms.get(definition.start_form or "") or {"type": "object"}
    data, errors, blocked, message, status = {}, {}, None, "", 200
    received = []
    if request.method == "POST":
        data = schema_form.read(schema, request.form)
        try:
            received = uploads(system, request.files)     # read and checked before the write lock too
            with system.store.read() as db:     # the form's checks never run under the write lock
                version = instances.check_start(system, db, process_id, data)
            with system.store.write() as db:
                instance = instances.start(system, db, g.actor, process_id, data, checked_version=version)
                files.attach_at_start(system, db, g.actor, instance, received)     # 正文, 附件: one transaction
                started = instance.id, instance.title
        except RuleBlocked as refused:
            instances.record_violation(system, g.actor.id, refused, context={"process_id": process_id})
            blocked, status = refused.violations, 422
        except ValidationFailed as refused:
            errors, message = schema_form.refusal(schema, data, refused.details, refused.message)
            status = refused.status
        except GovflowError as refused:
            message, status = refused.message, refused.status
            g.refused_because = message          # a 403 is recorded as a refused write (app.py)
        finally:
            for item in received:
                item.close()
        if status == 200:
            flash(f"已发起：{started[1]}")
            return redirect(f"/instances/{started[0]}")
    return render_template("start.html", definition=definition, form=schema_form.render(schema, data, errors),
                           blocked=blocked, message=message, file_roles=form_roles(schema),
                           accept=",".join(f".{t}" for t in system.settings.files_types)), status
