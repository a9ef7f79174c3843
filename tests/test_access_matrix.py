"""Who may read and do what, route by route: every route of the JSON API — taken from the app's
url_map, so a route added without a row here fails — asked by one person of each kind, with real
requests against real instances of the example organisation of 巴州区.

The people (columns):
  holder      沈凯 (教育局 staff): holds the 督办事项's 报告办理情况, started the 公文
  colleague   蒋建国 (教育局 deputy head): same department, no task of either
  other       税天明 (生态环境局 staff)
  leader      周国强 (副区长, 分管 教育局)
  far_leader  刘兵 (副区长, 分管 生态环境局)
  office      宋洋 (办公室 clerk): a candidate of the 公文's 收文登记
  designer    钱泽 (designer; also an 办公室 clerk, so also a candidate of 收文登记)
  auditor     徐晓玲
  admin       王鹏 (administrator; also 办公室主任)
  anon        no token

A cell is the status answered; for the lists, ✓ is 200 with the subject listed and ∅ is 200
without it. The subject of each row is named in SUBJECTS; a row marked fresh gets a new subject
after each cell that changed it.
"""
from __future__ import annotations

import io
import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bpmn_builder import chain, diagram, end, start, user
from conftest import MONDAY_9AM, REPO, Api
from govflow.app import create_app
from govflow.people.substitution import record_leave
from govflow.store.models import FollowupItem, MajorDecision
from govflow.time.timeutil import isoformat
from govflow.work import circulation, tasks
from helpers import actor, complete, deploy_xml, open_tasks
from helpers import start as start_instance
from procedures import People, arrange, by_hand, system_for
from test_major_decision_process import DIAGRAM as MAJOR_DECISION
from test_major_decision_process import matter as major_matter

PDF = b"%PDF-1.4\n%%EOF\n"
PEOPLE = {"holder": "shenkai", "colleague": "jiangjianguo", "other": "shuitianming", "leader": "zhouguoqiang",
          "far_leader": "liubing", "office": "songyang", "designer": "qianze", "auditor": "xuxiaoling",
          "admin": "wangpeng", "anon": None}

MATRIX = """
                                                      holder colleague other leader far_leader office designer auditor admin anon
GET    /api/v1/openapi.json                              200    200      200   200    200        200    200      200     200   200
GET    /api/v1/health                                    200    200      200   200    200        200    200      200     200   200
POST   /api/v1/auth/token                                201    201      201   201    201        201    201      201     201   401
DELETE /api/v1/auth/token                                204    204      204   204    204        204    204      204     204   401
DELETE /api/v1/auth/tokens                               200    200      200   200    200        200    200      200     200   401
GET    /api/v1/me                                        200    200      200   200    200        200    200      200     200   401
GET    /api/v1/notifications                             200    200      200   200    200        200    200      200     200   401
POST   /api/v1/notifications/<notification_id>/read      404    404      404   404    404        404    404      403     404   401
POST   /api/v1/notifications/read-all                    200    200      200   200    200        200    200      403     200   401
PUT    /api/v1/me/password                               200    200      200   200    200        200    200      200     200   401
DELETE /api/v1/people/<person_id>/tokens                 403    403      403   403    403        403    403      403     200   401
PUT    /api/v1/people/<person_id>/password               403    403      403   403    403        403    403      403     200   401
GET    /api/v1/org                                       200    200      200   200    200        200    200      200     200   401
GET    /api/v1/clock                                     200    200      200   200    200        200    200      200     200   401
PUT    /api/v1/clock                                     403    403      403   403    403        403    403      403     200   401
POST   /api/v1/clock/advance                             403    403      403   403    403        403    403      403     200   401
GET    /api/v1/calendar/<int:year>                       200    200      200   200    200        200    200      200     200   401
PUT    /api/v1/calendar/days/<day>                       403    403      403   403    403        403    403      403     200   401
PUT    /api/v1/calendar/years/<int:year>                 403    403      403   403    403        403    403      403     200   401
GET    /api/v1/calendar/deadline                         200    200      200   200    200        200    200      200     200   401
GET    /api/v1/processes                                 200    200      200   200    200        200    200      200     200   401
POST   /api/v1/processes                                 403    403      403   403    403        403    201      403     201   401
GET    /api/v1/processes/<process_id>/versions/<int:version>/bpmn 200 200 200   200    200        200    200      200     200   401
GET    /api/v1/instances                                 ✓      ✓        ∅     ✓      ∅          ∅      ∅        ✓       ✓     401
POST   /api/v1/instances                                 403    403      403   201    201        201    201      403     201   401
GET    /api/v1/instances/<int:instance_id>               200    200      403   200    403        403    403      200     200   401
GET    /api/v1/instances/<int:instance_id>/events        200    200      403   200    403        403    403      200     200   401
GET    /api/v1/instances/<int:instance_id>/replay        403    403      403   403    403        403    403      200     200   401
POST   /api/v1/instances/<int:instance_id>/circulate     201    403      403   403    403        403    403      403     201   401
GET    /api/v1/instances/<int:instance_id>/files         200    200      403   200    403        403    403      200     200   401
GET    /api/v1/instances/<int:instance_id>/files/diff    404    404      403   404    403        403    403      404     404   401
POST   /api/v1/tasks/<task_id>/files                     201    403      403   403    403        403    403      403     403   401
GET    /api/v1/files/<int:file_id>                       200    200      403   200    403        403    403      200     200   401
GET    /api/v1/tasks                                     ✓      ∅        ∅     ∅      ∅          ∅      ∅        ∅       ∅     401
GET    /api/v1/tasks/<task_id>                           200    200      403   200    403        403    403      200     200   401
POST   /api/v1/tasks/<task_id>/complete                  200    403      403   403    403        403    403      403     403   401
POST   /api/v1/tasks/<task_id>/claim                     403    403      403   403    403        200    200      403     403   401
POST   /api/v1/tasks/<task_id>/unclaim                   403    403      403   403    403        200    403      403     403   401
POST   /api/v1/tasks/<task_id>/transfer                  200    403      403   403    403        403    403      403     403   401
POST   /api/v1/tasks/<task_id>/delegate                  200    403      403   403    403        403    403      403     403   401
POST   /api/v1/tasks/<task_id>/resolve                   403    200      403   403    403        403    403      403     403   401
POST   /api/v1/tasks/<task_id>/return                    403    403      403   403    403        200    200      403     403   401
POST   /api/v1/tasks/<task_id>/withdraw                  403    403      403   403    403        200    403      403     403   401
POST   /api/v1/tasks/<task_id>/addsign                   201    403      403   403    403        403    403      403     403   401
POST   /api/v1/tasks/<task_id>/read                      200    403      403   403    403        403    403      403     403   401
POST   /api/v1/tasks/<task_id>/comments                  201    201      403   201    403        403    403      403     201   401
POST   /api/v1/tasks/<task_id>/press                     403    403      403   200    403        403    403      403     200   401
GET    /api/v1/search                                    ✓      ✓        ∅     ✓      ∅          ∅      ∅        ✓       ✓     401
GET    /api/v1/followups                                 ✓      ✓        ∅     ✓      ∅          ✓      ✓        ✓       ✓     401
GET    /api/v1/followups/<int:item_id>                   200    200      404   200    404        200    200      200     200   401
GET    /api/v1/followups/summary                         200    200      200   200    200        200    200      200     200   401
GET    /api/v1/meetings                                  200    200      200   200    200        200    200      200     200   401
POST   /api/v1/meetings                                  403    403      403   403    403        201    201      403     201   401
GET    /api/v1/meetings/<int:meeting_id>                 200    200      200   200    200        200    200      200     200   401
GET    /api/v1/emergency-decisions                       200    200      200   200    200        200    200      200     200   401
POST   /api/v1/emergency-decisions                       422    422      422   201    201        422    422      403     201   401
GET    /api/v1/major-decisions                           ✓      ✓        ∅     ✓      ∅          ✓      ✓        ✓       ✓     401
GET    /api/v1/major-decisions/<int:decision_id>         200    200      404   200    404        200    200      200     200   401
GET    /api/v1/leave                                     200    200      200   200    200        200    200      200     200   401
POST   /api/v1/leave                                     201    403      403   403    403        201    201      403     201   401
DELETE /api/v1/leave/<int:leave_id>                      204    403      403   403    403        204    204      403     204   401
GET    /api/v1/audit/verify                              403    403      403   403    403        403    403      200     200   401
GET    /api/v1/audit/anchor                              403    403      403   403    403        403    403      200     200   401
GET    /api/v1/audit/export                              403    403      403   403    403        403    403      200     200   401
GET    /api/v1/audit/reexecute                           403    403      403   403    403        403    403      200     200   401
GET    /api/v1/audit/refusals                            403    403      403   403    403        403    403      200     200   401
"""
# Why some cells are what they are:
# - the designer and the admin work in the 办公室, and the office sees the whole 督办台账 (ledger.visible),
#   may press, circulate, arrange meetings and record leave; the designer is a candidate of office tasks;
# - a 督办事项 is started by the office, the 督查 units or the government's leaders (督办 by hand);
# - T12 (临机处置) is recorded by the leaders and the 办公室主任 who acted (the profile's list): 422 for others;
# - 退回 and 撤回 are shown on the 公文 (a 督办事项's 签收 is recorded in the ledger and cannot be undone):
#   the 办公室审核 is offered to the office clerks (the designer is one), and 宋洋 did the 收文登记;
# - a 督办事项 one may not see is answered 404, as if it did not exist;
# - files are uploaded by whoever may act on the step (here 沈凯's 报告办理情况) and read by whoever sees the
#   matter; the diff of two 正文 versions is asked of a matter that has none (404 once it may be seen);
# - 退出所有设备 and a new password are one's own (auditors too: they change no matter); for another person,
#   the administrator's.


def parse(text: str) -> dict[tuple[str, str], dict[str, str]]:
    lines = [line.split() for line in text.strip().splitlines()]
    columns = lines[0]
    assert columns == list(PEOPLE), columns
    return {(method, rule): dict(zip(columns, cells, strict=True)) for method, rule, *cells in lines[1:]}


EXPECTED = parse(MATRIX)
LISTS = {"/api/v1/instances": "instance_id", "/api/v1/search": "instance_id", "/api/v1/tasks": "task_id", "/api/v1/followups": "item_id",
         "/api/v1/major-decisions": "decision_id"}  # the subject's


@dataclass
class World:
    """The system, a client, and fresh subjects made through the service layer."""
    system: object
    api: Api
    people: People
    counter: itertools.count

    def followup(self) -> dict:
        instance_id = by_hand(self.system, self.people, "jyj", [], "2027-03-31")
        with self.system.store.read() as session:
            item = session.scalar(select(FollowupItem.id).where(FollowupItem.instance_id == instance_id))
        report = [t for t in open_tasks(self.system, instance_id) if t.step_id == "progress_report"][0]
        return {"instance_id": instance_id, "item_id": item, "task_id": report.id}

    def document(self) -> dict:
        data = {"doc_type": "请示", "title": "关于申请城区学校维修资金的请示", "department": "jyj", "urgency": "一般",
                "secrecy": "无", "category": "government_business", "issuer": "政府", "departments": [],
                "body": "妥否，请批示。", "signoff": {"signer": "liangxiaodong", "meeting": "局务会议纪要〔2026〕3号"}}
        instance_id = start_instance(self.system, "shenkai", "document_approval", data)
        return {"instance_id": instance_id, "task_id": open_tasks(self.system, instance_id)[0].id}

    def attached(self) -> dict:
        """A 督办事项 whose 报告办理情况 carries an 附件 (a PDF) 沈凯 uploaded."""
        subject = self.followup()
        answer = self.api.post(f"/tasks/{subject['task_id']}/files", "shenkai", content_type="multipart/form-data",
                               data={"role": "附件", "file": (io.BytesIO(PDF), "照片.pdf")})
        assert answer.status_code == 201, answer.get_json()
        return {**subject, "file_id": answer.get_json()["id"]}

    def decision(self) -> dict:
        """A 重大行政决策 沈凯 flagged for 教育局: seen by the department, its 分管领导, the office and the
        auditors (api/decisions.py); the same list item and article as the procedure's own tests."""
        with self.system.store.read() as session:
            org = self.system.organisation(session)
        instance_id = start_instance(self.system, "shenkai", "major_decision",
                                     major_matter("bazhou", org, department="jyj", departments=["sthjj"]))
        with self.system.store.read() as session:
            decision = session.scalar(select(MajorDecision.id).where(MajorDecision.instance_id == instance_id))
        return {"instance_id": instance_id, "decision_id": decision}

    def claimed(self) -> dict:
        subject = self.document()
        with self.system.store.write() as session:
            tasks.claim(self.system, session, actor(self.system, "songyang"), subject["task_id"])
        return subject

    def delegated(self) -> dict:
        subject = self.followup()
        with self.system.store.write() as session:
            tasks.delegate(self.system, session, actor(self.system, "shenkai"), subject["task_id"], "jiangjianguo")
        return subject

    def circulated(self) -> dict:
        subject = self.followup()
        with self.system.store.write() as session:
            copy = circulation.circulate(self.system, session, actor(self.system, "yaohua"),
                                         subject["instance_id"], ["shenkai"])[0]
        return {**subject, "task_id": copy.id}

    def received(self) -> dict:
        """A 公文 whose 收文登记 宋洋 has done: 办公室审核 is open."""
        subject = self.document()
        complete(self.system, "songyang", subject["task_id"], {"received": True})
        review = [t for t in open_tasks(self.system, subject["instance_id"]) if t.step_id == "office_review"][0]
        return {**subject, "receipt": subject["task_id"], "task_id": review.id}

    def leave(self) -> dict:
        with self.system.store.write() as session:
            runtime = self.system.runtime(session)
            starts = self.later(days=400)
            row = record_leave(session, runtime.org, runtime.profile, "shenkai", starts, starts + timedelta(hours=2),
                               "", "test")
            return {"leave_id": row.id}

    def later(self, days: int = 30) -> datetime:
        """A moment of its own, some way ahead (meetings and leave may not overlap)."""
        return MONDAY_9AM + timedelta(days=days, hours=next(self.counter) * 3)

    def diagram(self) -> bytes:
        process = f"matrix_{next(self.counter)}"
        return diagram(process, start(), user("sign", "签发"), end(), chain("start", "sign", "end"),
                       lanes={"分管副区长": ["sign"]}, name="测试流程")


@dataclass(frozen=True)
class Case:
    subject: str | None            # a World method (None: no subject)
    path: callable                 # subject -> the path's parameters filled in
    body: callable = None          # (world, subject, person) -> keyword arguments of the request
    fresh: bool = False            # make a new subject after a cell that changed it


def _json(value):
    return lambda world, subject, person: {"json": value}


SUBJECTS = {
    "GET /api/v1/openapi.json": Case(None, lambda s: "/openapi.json"),
    "GET /api/v1/health": Case(None, lambda s: "/health"),
    "POST /api/v1/auth/token": Case(None, lambda s: "/auth/token", lambda w, s, p: {
        "json": {"username": p or "shenkai", "password": "demo" if p else "wrong"}}),
    "DELETE /api/v1/auth/token": Case(None, lambda s: "/auth/token"),
    "DELETE /api/v1/auth/tokens": Case(None, lambda s: "/auth/tokens"),
    "GET /api/v1/me": Case(None, lambda s: "/me"),
    "GET /api/v1/notifications": Case(None, lambda s: "/notifications"),
    "POST /api/v1/notifications/<notification_id>/read": Case(None, lambda s: "/notifications/no-such-message/read"),
    "POST /api/v1/notifications/read-all": Case(None, lambda s: "/notifications/read-all"),
    "PUT /api/v1/me/password": Case(None, lambda s: "/me/password",
                                    _json({"old_password": "demo", "new_password": "demo"})),
    "DELETE /api/v1/people/<person_id>/tokens": Case(None, lambda s: "/people/qiaohui/tokens"),
    "PUT /api/v1/people/<person_id>/password": Case(None, lambda s: "/people/qiaohui/password",
                                                    _json({"password": "demo"})),
    "GET /api/v1/org": Case(None, lambda s: "/org"),
    "GET /api/v1/clock": Case(None, lambda s: "/clock"),
    "PUT /api/v1/clock": Case(None, lambda s: "/clock", _json({"now": isoformat(MONDAY_9AM), "frozen": True})),
    "POST /api/v1/clock/advance": Case(None, lambda s: "/clock/advance", _json({"minutes": 0})),
    "GET /api/v1/calendar/<int:year>": Case(None, lambda s: "/calendar/2026"),
    "PUT /api/v1/calendar/days/<day>": Case(None, lambda s: "/calendar/days/2031-03-04", _json({"workday": True})),
    "PUT /api/v1/calendar/years/<int:year>": Case(None, lambda s: "/calendar/years/2031",
                                                  _json({"holidays": ["2031-01-01"], "workdays": [], "source": "测试"})),
    "GET /api/v1/calendar/deadline": Case(None, lambda s: "/calendar/deadline?workdays=3"),
    "GET /api/v1/processes": Case(None, lambda s: "/processes"),
    "POST /api/v1/processes": Case(None, lambda s: "/processes?filename=matrix.bpmn", lambda w, s, p: {
        "data": w.diagram(), "content_type": "application/xml"}),
    "GET /api/v1/processes/<process_id>/versions/<int:version>/bpmn": Case(
        None, lambda s: "/processes/decision_followup/versions/1/bpmn"),
    "GET /api/v1/instances": Case("followup", lambda s: "/instances?limit=500"),
    "POST /api/v1/instances": Case(None, lambda s: "/instances", _json({
        "process_id": "decision_followup", "data": {"source": "领导批示", "source_ref": "区长批示件〔2026〕13号",
                                                    "task": "整治校园周边交通", "lead_unit": "jyj",
                                                    "assisting_units": [], "due_on": "2027-03-31"}})),
    "GET /api/v1/instances/<int:instance_id>": Case("followup", lambda s: f"/instances/{s['instance_id']}"),
    "GET /api/v1/instances/<int:instance_id>/events": Case("followup",
                                                          lambda s: f"/instances/{s['instance_id']}/events"),
    "GET /api/v1/instances/<int:instance_id>/replay": Case("followup",
                                                          lambda s: f"/instances/{s['instance_id']}/replay"),
    "POST /api/v1/instances/<int:instance_id>/circulate": Case(
        "followup", lambda s: f"/instances/{s['instance_id']}/circulate", _json({"to": ["jiangjianguo"]}), fresh=True),
    "GET /api/v1/instances/<int:instance_id>/files": Case("attached", lambda s: f"/instances/{s['instance_id']}/files"),
    "GET /api/v1/instances/<int:instance_id>/files/diff": Case(
        "attached", lambda s: f"/instances/{s['instance_id']}/files/diff?old=1&new=2"),
    "POST /api/v1/tasks/<task_id>/files": Case("followup", lambda s: f"/tasks/{s['task_id']}/files", lambda w, s, p: {
        "content_type": "multipart/form-data", "data": {"role": "附件", "file": (io.BytesIO(PDF), "报告.pdf")}}),
    "GET /api/v1/files/<int:file_id>": Case("attached", lambda s: f"/files/{s['file_id']}"),
    "GET /api/v1/tasks": Case("followup", lambda s: "/tasks?limit=500"),
    "GET /api/v1/tasks/<task_id>": Case("followup", lambda s: f"/tasks/{s['task_id']}"),
    "POST /api/v1/tasks/<task_id>/complete": Case("followup", lambda s: f"/tasks/{s['task_id']}/complete", _json(
        {"data": {"progress": "已完成校园周边整治方案", "action": "继续办理"}}), fresh=True),
    "POST /api/v1/tasks/<task_id>/claim": Case("document", lambda s: f"/tasks/{s['task_id']}/claim", fresh=True),
    "POST /api/v1/tasks/<task_id>/unclaim": Case("claimed", lambda s: f"/tasks/{s['task_id']}/unclaim", fresh=True),
    "POST /api/v1/tasks/<task_id>/transfer": Case("followup", lambda s: f"/tasks/{s['task_id']}/transfer",
                                                  _json({"to": "jiangjianguo", "reason": "工作调整"}), fresh=True),
    "POST /api/v1/tasks/<task_id>/delegate": Case("followup", lambda s: f"/tasks/{s['task_id']}/delegate",
                                                  _json({"to": "jiangjianguo"}), fresh=True),
    "POST /api/v1/tasks/<task_id>/resolve": Case("delegated", lambda s: f"/tasks/{s['task_id']}/resolve",
                                                 _json({"note": "已办"}), fresh=True),
    "POST /api/v1/tasks/<task_id>/return": Case("received", lambda s: f"/tasks/{s['task_id']}/return",
                                                _json({"to": "receipt", "reason": "登记有误"}), fresh=True),
    "POST /api/v1/tasks/<task_id>/withdraw": Case("received", lambda s: f"/tasks/{s['receipt']}/withdraw",
                                                  _json({}), fresh=True),
    "POST /api/v1/tasks/<task_id>/addsign": Case("followup", lambda s: f"/tasks/{s['task_id']}/addsign",
                                                 _json({"to": "jiangjianguo"}), fresh=True),
    "POST /api/v1/tasks/<task_id>/read": Case("circulated", lambda s: f"/tasks/{s['task_id']}/read", _json({}),
                                              fresh=True),
    "POST /api/v1/tasks/<task_id>/comments": Case("followup", lambda s: f"/tasks/{s['task_id']}/comments",
                                                  _json({"text": "请抓紧办理"})),
    "POST /api/v1/tasks/<task_id>/press": Case("followup", lambda s: f"/tasks/{s['task_id']}/press", _json({})),
    "GET /api/v1/search": Case("followup", lambda s: "/search?q=占道经营&limit=100"),
    "GET /api/v1/followups": Case("followup", lambda s: "/followups"),
    "GET /api/v1/followups/<int:item_id>": Case("followup", lambda s: f"/followups/{s['item_id']}"),
    "GET /api/v1/followups/summary": Case(None, lambda s: "/followups/summary?quarter=2026Q4"),
    "GET /api/v1/meetings": Case(None, lambda s: "/meetings"),
    "POST /api/v1/meetings": Case(None, lambda s: "/meetings", lambda w, s, p: {
        "json": {"at": isoformat(w.later())}}),
    "GET /api/v1/meetings/<int:meeting_id>": Case("meeting", lambda s: f"/meetings/{s['meeting_id']}"),
    "GET /api/v1/emergency-decisions": Case(None, lambda s: "/emergency-decisions"),
    "POST /api/v1/emergency-decisions": Case(None, lambda s: "/emergency-decisions",
                                             _json({"matter": "暴雨致城区内涝，即时调度抢险"})),
    "GET /api/v1/major-decisions": Case("decision", lambda s: "/major-decisions"),
    "GET /api/v1/major-decisions/<int:decision_id>": Case("decision", lambda s: f"/major-decisions/{s['decision_id']}"),
    "GET /api/v1/leave": Case(None, lambda s: "/leave"),
    "POST /api/v1/leave": Case(None, lambda s: "/leave", lambda w, s, p: {"json": {
        "person": "shenkai", "starts_at": isoformat(start := w.later(400)),
        "ends_at": isoformat(start + timedelta(hours=2))}}),
    "DELETE /api/v1/leave/<int:leave_id>": Case("leave", lambda s: f"/leave/{s['leave_id']}", fresh=True),
    "GET /api/v1/audit/verify": Case(None, lambda s: "/audit/verify"),
    "GET /api/v1/audit/anchor": Case(None, lambda s: "/audit/anchor"),
    "GET /api/v1/audit/export": Case(None, lambda s: "/audit/export?format=xes"),
    "GET /api/v1/audit/reexecute": Case("followup", lambda s: f"/audit/reexecute?instance_id={s['instance_id']}"),
    "GET /api/v1/audit/refusals": Case(None, lambda s: "/audit/refusals"),
}


def api_routes(app) -> set[tuple[str, str]]:
    return {(method, rule.rule) for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")
            for method in rule.methods - {"HEAD", "OPTIONS"}}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    system = system_for(f"sqlite:///{tmp_path_factory.mktemp('matrix')}/govflow.db", "bazhou")
    deploy_xml(system, (REPO / "processes" / "document_approval.bpmn").read_bytes(), "document_approval.bpmn")
    deploy_xml(system, MAJOR_DECISION, "major_decision.bpmn")
    yield World(system, Api(create_app(system=system)), People("bazhou"), itertools.count(1))
    system.store.dispose()


def test_every_api_route_has_a_row_and_every_row_a_route(world):
    routes = api_routes(world.api.client.application)
    assert routes - set(EXPECTED) == set(), "routes without a row in the matrix"
    assert set(EXPECTED) - routes == set(), "rows for routes that do not exist"
    assert {f"{m} {r}" for m, r in EXPECTED} == set(SUBJECTS)


def _cell(world: World, case: Case, subject, column: str, method: str, rule: str) -> str:
    person = PEOPLE[column]
    kwargs = case.body(world, subject, person) if case.body else {}
    response = world.api.call(method, case.path(subject), person, **kwargs)
    if rule.endswith(("/auth/token", "/auth/tokens", "/me/password")) and method != "POST":
        world.api.tokens.pop(person, None)            # that token is gone: the next cell logs in again
    if rule in LISTS and response.status_code == 200:
        listed = any(i.get("id") == subject[LISTS[rule]] for i in response.get_json()["items"])
        return "✓" if listed else "∅"
    return str(response.status_code)


def test_each_person_reads_and_does_what_the_matrix_says(world):
    subjects = {"meeting": lambda: {"meeting_id": arrange(world.system, "2026-12-03T09:00:00+08:00")}}
    made: dict[str, dict] = {}
    wrong = []
    for (method, rule), row in EXPECTED.items():
        case = SUBJECTS[f"{method} {rule}"]
        for column, expected in row.items():
            if case.subject and case.subject not in made:
                made[case.subject] = (subjects.get(case.subject) or getattr(world, case.subject))()
            subject = made.get(case.subject)
            got = _cell(world, case, subject, column, method, rule)
            if got != expected:
                wrong.append(f"{method} {rule} as {column} ({PEOPLE[column]}): expected {expected}, got {got}")
            if case.fresh and got.startswith("2"):
                made.pop(case.subject)
        if case.fresh:
            made.pop(case.subject, None)
    assert wrong == [], "\n".join(wrong)
