"""What the procedure tests share: deploying the diagrams, the people of an example organisation,
and getting a topic or a meeting to the point a test starts from."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from conftest import REPO, Api, build_system, load_org
from govflow.records.meetings import Meetings
from govflow.store.models import Meeting
from govflow.time.timeutil import parse_moment
from govflow.work import admin, convening, worker
from helpers import complete, deploy_xml, open_tasks, start, task, workflow

DIAGRAMS = ("topic_submission", "standing_meeting", "decision_followup")


@pytest.fixture
def make(database_url):
    """Builds the system of a jurisdiction, with the procedure diagrams deployed."""
    made = []

    def build(profile: str):
        made.append(system_for(database_url, profile))
        return made[-1]
    yield build
    for system in made:
        system.store.dispose()


@pytest.fixture
def bazhou(make):
    return make("bazhou")


def system_for(database_url: str, profile: str):
    system = build_system(database_url, profile)
    for name in DIAGRAMS:
        deploy_xml(system, (REPO / "processes" / f"{name}.bpmn").read_bytes(), f"{name}.bpmn")
    return system


class People:
    """Who works a topic in one organisation."""

    def __init__(self, profile: str):
        org = self.org = load_org(profile)
        self.head = org.head().id
        self.director = org.with_post("office_director")[0].id
        self.executive = org.executive_deputy().id
        self.clerk = org.with_post("office_clerk", org.office_id)[0].id
        self.members = list(org.meeting_members)

    def staff(self, department: str) -> str:
        return self.org.with_post("dept_staff", department)[0].id

    def dept_head(self, department: str) -> str:
        return self.org.with_post("dept_head", department)[0].id

    def duty(self, duty: str) -> str:
        """Someone who works the tasks of the department with this duty (合法性审查, 督查…)."""
        department = self.org.with_duty(duty)[0].id
        return next(p.id for p in self.org.people.values()
                    if p.department == department and p.post in ("dept_staff", "office_clerk"))


def inbox(api: Api, person: str, view: str = "mine") -> list[dict]:
    return api.get(f"/tasks?view={view}", person).get_json()["items"]


def act(api: Api, person: str, step: str, data: dict, instance: int | None = None) -> dict:
    """Complete ``step`` from the person's inbox: assigned to them, or to a group they are in."""
    tasks = inbox(api, person) + inbox(api, person, "group")
    found = [t for t in tasks if t["step"] == step and instance in (None, t["instance_id"])]
    assert found, f"{step} not in {person}'s inbox: {[t['step'] for t in tasks]}"
    response = api.post(f"/tasks/{found[0]['id']}/complete", person, json={"data": data})
    assert response.status_code == 200, response.get_json()
    return found[0]


def advance(system, api: Api, **delta) -> None:
    """Time passes and the worker runs; everyone logs in again (tokens last a working day)."""
    with system.store.write() as session:
        admin.advance_clock(system, session, timedelta(**delta), "test")
    worker.run_once(system)
    api.tokens.clear()


def lead_and_other(org) -> tuple[str, str]:
    """Two departments of ordinary 副区长/副市长 (not the office, not a reviewing department)."""
    plain = [d for d in org.departments if (leader := org.portfolio_leader(d)) and leader.post == "deputy"
             and not org.departments[d].duties]
    return plain[0], plain[1]


def simple_topic(org, **changes) -> dict:
    lead, _ = lead_and_other(org)
    topic = {"title": "关于2027年城区学校建设资金安排的议题", "department": lead, "request": "提请安排建设资金。",
             "categories": ["重大投资资金"], "departments": [], "materials": ["依据文件"]}
    return {**topic, **changes}


def approve(system, instance_id: int) -> None:
    """Every approver in turn agrees (T1)."""
    while reviews := [t for t in open_tasks(system, instance_id) if t.step_id == "review"]:
        complete(system, reviews[0].assignee, reviews[0].id, {"decision": "同意", "opinion": "同意"})


def arrange(system, at: str) -> int:
    with system.store.write() as session:
        org = system.organisation(session)
        meeting = Meetings(session).create(parse_moment(at), org.name, "test", system.now(session))
        return meeting.id


def schedule_of(system, instance_id: int) -> dict:
    return workflow(system, instance_id).last_task.data["schedule"]


def convened(system, at: str) -> tuple[int, int]:
    """A meeting arranged by hand and its process: (meeting id, instance id)."""
    with system.store.write() as session:
        org = system.organisation(session)
        meeting = Meetings(session).create(parse_moment(at), org.name, "test", system.now(session))
        return meeting.id, convening.convene(system, session, meeting, convening.SYSTEM).id


def scheduled_topic(system, org, **changes) -> int:
    """A topic approved and placed on the nearest meeting, its materials sent (prep done)."""
    topic = simple_topic(org, **changes)
    staff = org.with_post("dept_staff", topic["department"])[0].id
    instance_id = start(system, staff, "topic_submission", topic)
    approve(system, instance_id)
    complete(system, staff, task(system, instance_id, "prep").id, {"materials_changed": False})
    return instance_id


def to_sign_in(system, org, meeting_instance: int) -> None:
    """The agenda drafted and approved, and the clock on the meeting's day (会议当天方可签到)."""
    clerk = org.with_post("office_clerk", org.office_id)[0].id
    complete(system, clerk, task(system, meeting_instance, "draft_agenda").id, {"confirmed": True})
    complete(system, org.head().id, task(system, meeting_instance, "approve_agenda").id, {"decision": "同意"})
    on_meeting_day(system, meeting_instance)


def on_meeting_day(system, meeting_instance: int) -> None:
    """The clock moved forward to the meeting's time when it is still before it."""
    with system.store.read() as session:
        at = session.scalars(select(Meeting.scheduled_at).where(Meeting.instance_id == meeting_instance)).one()
        now = system.now(session)
    if now < at:
        set_clock(system, at)


def completed_steps(system, instance_id: int) -> set[str]:
    return {t.task_spec.bpmn_id for t in workflow(system, instance_id).get_tasks(state=TaskState.COMPLETED)}


def set_clock(system, at: datetime) -> None:
    with system.store.write() as session:
        admin.set_clock(system, session, at, True, "test")


def by_hand(system, people: People, lead: str, assisting: list[str], due_on: str, **more) -> int:
    """An item from a leader's 批示, set by the 督查 office and acknowledged by the lead unit."""
    data = {"source": "领导批示", "source_ref": "区长批示件〔2026〕12号", "task": "整治城区占道经营",
            "lead_unit": lead, "assisting_units": assisting, "due_on": due_on, **more}
    instance_id = start(system, people.duty("督查"), "decision_followup", data)
    complete(system, people.staff(lead), task(system, instance_id, "acknowledge").id,
             {"responsible": "分管副局长张某，经办人李某", "plan": "分三步推进"})
    return instance_id
