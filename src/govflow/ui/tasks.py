"""The task page: the step's form (from its JSON Schema), the matter in hand and the opinions so far,
and the actions the step allows — 提交, 签收, 退回, 转办, 委派, 加签, 催办, 传阅, 已阅. A refused action
comes back to the same page in words; a blocking rule shows its article."""
from __future__ import annotations

from uuid import UUID

from flask import abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from ..errors import GovflowError, RuleBlocked, ValidationFailed
from ..store.models import Event, Instance, ProcessVersion
from ..work import circulation, instances, rewind, task_detail, tasks
from ..work import inbox as tasks_inbox
from . import bp, gf, login_required, schema_form, timeline
from . import files as ui_files
from .instances import step_names


@bp.get("/tasks/<task_id>")
@login_required
def task(task_id: str):
    return _page(task_id)


@bp.post("/tasks/<task_id>")
@login_required
def submit_task(task_id: str):
    """提交: the form's fields, read back into the JSON its schema describes."""
    system = gf()
    with system.store.read() as db:
        row = task_detail.visible_task(system, db, g.actor, task_id)
        schema = task_detail.form_of(system, db, row)
        delegated = row.kind == "task" and row.owner is not None and row.assignee == g.actor.id
    schema = schema or {"type": "object"}
    data = schema_form.read(schema, request.form)
    try:
        with system.store.read() as db:     # the form's checks never run under the write lock
            instances.check_completion(system, db, task_id, data)
        with system.store.write() as db:
            if delegated:        # 委派: the delegate's opinion goes back to the owner, who submits
                row = tasks.resolve(system, db, g.actor, task_id, "", data)
                done = f"已交回委派人：{row.step_name}"
            else:
                row = tasks.complete(system, db, g.actor, task_id, data, checked=True)
                done = f"已提交：{row.step_name}"
    except RuleBlocked as blocked:
        instances.record_violation(system, g.actor.id, blocked, _instance_of(task_id), task_id)
        return _page(task_id, data=data, blocked=blocked.violations, status=422)
    except ValidationFailed as failed:
        errors, message = schema_form.refusal(schema, data, failed.details, failed.message)
        return _page(task_id, data=data, errors=errors, message=message, status=failed.status)
    except GovflowError as refused:
        return _page(task_id, data=data, message=refused.message, status=refused.status)
    flash(done)
    return redirect(url_for("ui.inbox"))


# Each action: the service it calls with the task row and the form's fields, and what the person is
# told when it is done.
ACTIONS = {
    "claim": (lambda s, db, a, t, f: tasks.claim(s, db, a, t.id), "已签收"),
    "unclaim": (lambda s, db, a, t, f: tasks.unclaim(s, db, a, t.id), "已退回组待办"),
    "return": (lambda s, db, a, t, f: rewind.send_back(s, db, a, t.id, f.get("to", ""), f.get("reason", "")),
               "已退回"),
    "transfer": (lambda s, db, a, t, f: tasks.transfer(s, db, a, t.id, f.get("to", ""), f.get("reason", "")),
                 "已转办"),
    "delegate": (lambda s, db, a, t, f: tasks.delegate(s, db, a, t.id, f.get("to", ""), f.get("note", "")),
                 "已委派"),
    "addsign": (lambda s, db, a, t, f: tasks.add_signer(s, db, a, t.id, f.get("to", ""), f.get("note", "")),
                "已加签"),
    "press": (lambda s, db, a, t, f: tasks.press(s, db, a, t.id, f.get("note", "")), "已催办"),
    "read": (lambda s, db, a, t, f: circulation.mark_read(s, db, a, t.id, f.get("note", "")), "已阅"),
    "circulate": (lambda s, db, a, t, f: circulation.circulate(s, db, a, t.instance_id, f.getlist("to"),
                                                               f.get("note", "")), "已传阅"),
}
STAYS = {"claim", "addsign", "press", "circulate"}     # after these the person goes on with the task


@bp.post("/tasks/<task_id>/<action>")
@login_required
def task_action(task_id: str, action: str):
    if action not in ACTIONS:
        abort(404)
    service, done = ACTIONS[action]
    system = gf()
    try:
        with system.store.write() as db:
            row = task_detail.visible_task(system, db, g.actor, task_id)
            service(system, db, g.actor, row, request.form)
    except GovflowError as refused:
        return _page(task_id, message=refused.message, status=refused.status)
    flash(done)
    return redirect(url_for("ui.task", task_id=task_id) if action in STAYS else url_for("ui.inbox"))


def _instance_of(task_id: str) -> int | None:
    with gf().store.read() as db:
        return task_detail.visible_task(gf(), db, g.actor, task_id).instance_id


def _page(task_id: str, data: dict | None = None, errors: dict | None = None, blocked=None, message: str = "",
          status: int = 200):
    system = gf()
    with system.store.read() as db:
        instance = db.get(Instance, task_detail.visible_task(system, db, g.actor, task_id).instance_id)
        workflow = instances.load(system, db, instance)      # once, for the steps to go back to and the matter
        shown = task_detail.detail(system, db, g.actor, task_id, workflow)
        definition = system.definitions.get(db, instance.process_version_id)
        version = db.get(ProcessVersion, instance.process_version_id)
        org = system.organisation(db)
        matter, initial, findings = _matter(workflow, definition, shown, org)
        attached = ui_files.section(system, db, g.actor, instance.id, shown)
        said = list(db.scalars(select(Event).where(Event.instance_id == instance.id,
                                                   Event.type.in_(timeline.OPINION_EVENTS)).order_by(Event.seq)))
    opinions = timeline.opinions(said, timeline.Words(org.display_name, step_names(definition)))
    form = None
    if shown["may_act"] and shown["kind"] in ("task", "addsign"):     # the holder, a delegate, an added signer
        if data is None:
            data = shown.pop("drafted") or initial      # the delegate's draft when it came back to its owner
        form = schema_form.render(shown["form"] or {"type": "object"}, data, errors)
    return render_template("task.html", t=shown, instance=instance, version=version, matter=matter, findings=findings,
                           form=form, blocked=blocked, message=message, people=_people_by_department(org),
                           opinions=opinions, files=attached), status


def _matter(workflow, definition, shown: dict, org) -> tuple[list, dict, list]:
    """The matter in hand (公文、议题、督办事项) as its start form labels it, and what the task's form
    starts with: when the step resubmits the matter (修改后重新报送, 修改后重新申报), the matter as it stands."""
    current = workflow.get_task_from_id(UUID(shown["id"])) if shown["kind"] == "task" else None
    data = current.data if current is not None else instances.current_data(workflow)
    start = definition.forms.get(definition.start_form or "", {})
    matter = [(sub.get("title", name), _text(data[name], sub, org))
              for name, sub in start.get("properties", {}).items() if _shown(data.get(name))]
    initial = {}
    if current is not None and tasks_inbox.resubmits(definition, definition.step(current.task_spec.bpmn_id).form):
        fields = set(start.get("properties", {})) & set((shown["form"] or {}).get("properties", {}))
        initial = {k: data[k] for k in fields if k in data}
    return matter, initial, _findings(data)


def _findings(data: dict) -> list[dict]:
    """What the rule checks found so far (合规审查 and the like): each with its rule and article, and
    whether it is certain or a text heuristic a person confirms."""
    return [f for value in data.values() if isinstance(value, dict) and isinstance(value.get("findings"), list)
            for f in value["findings"] if isinstance(f, dict) and f.get("rule")]


def _shown(value) -> bool:
    return value is not False and value not in (None, "", [], {})


def _text(value, schema: dict, org) -> str:
    """A value as people read it: 是 (a 否 is not shown), lists joined, parts under their titles, and departments and
    people by name rather than by id."""
    if isinstance(value, bool):
        return "是"
    if isinstance(value, list):
        return "、".join(_text(v, schema.get("items", {}), org) for v in value)
    if isinstance(value, dict):
        parts = schema.get("properties", {})
        return "；".join(f"{parts.get(k, {}).get('title', k)}：{_text(v, parts.get(k, {}), org)}"
                        for k, v in value.items())
    if value in schema.get("enum", ()) and schema.get("enumNames"):
        return dict(zip(schema["enum"], schema["enumNames"], strict=False))[value]
    if isinstance(value, str) and value in org.departments:
        return org.departments[value].name
    if isinstance(value, str) and value in org.people:
        return org.people[value].name
    return str(value)


def _people_by_department(org) -> list[tuple[str, list]]:
    """People to hand a task to, under their departments (leaders without one first)."""
    groups: dict[str, list] = {}
    for person in org.people.values():
        department = org.departments.get(person.department or "")
        groups.setdefault(department.name if department else "政府领导", []).append(person)
    return sorted(groups.items(), key=lambda kv: (kv[0] != "政府领导", kv[0]))
