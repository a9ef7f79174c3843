"""The organisation: the government, its departments, its people and their posts, the leaders'
portfolios (分管), the AB角 pairs and the 常务会议 members. Loaded from TOML (docs/org-format.md).

A diagram's lane names a role; ``resolve_lane`` turns it into people, using the instance data where
the role is relative (the 分管副区长 *of the lead department*, the head of *this* 会签 department).
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import time

from ..errors import ValidationFailed

POSTS = {
    "head": "主要领导", "executive_deputy": "常务副职", "deputy": "副职", "secretary_general": "秘书长",
    "deputy_secretary_general": "副秘书长",
    "office_director": "办公室主任", "office_deputy_director": "办公室副主任", "office_clerk": "办公室工作人员",
    "dept_head": "部门主要负责人", "dept_deputy": "部门副职", "dept_staff": "部门工作人员",
}
LEADER_POSTS = {"head", "executive_deputy", "deputy"}
NUMBERING_KEYS = ("government", "office", "letter", "followup")   # 发文字号 代字, and 督办编号's
# Local settings in 工作日 that no rule sets (the 督办 report interval, when an item counts as due soon).
LOCAL_WORKDAYS = {"followup_report_every_wd": 10, "followup_due_soon_wd": 5}
DEPARTMENT_POSTS = {"office_director", "office_deputy_director", "office_clerk", "dept_head", "dept_deputy",
                    "dept_staff"}
DUTIES = {"办文", "督查", "目标绩效", "合法性审查", "公平竞争审查"}
SYSTEM_ROLES = {"designer", "auditor", "admin"}
_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class Department:
    id: str
    name: str
    duties: tuple[str, ...] = ()


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    post: str
    department: str | None = None
    portfolio: tuple[str, ...] = ()
    ab_partner: str | None = None
    roles: frozenset[str] = frozenset()
    password: str | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class LaneRole:
    """What a lane name means: a post (``head``…), a post relative to a department named in the
    data (``dept_staff`` of ``data["department"]``), a person named in the data (``person`` in
    ``data["signer"]``), any of several posts (``any_post``, space-separated), or the staff of the
    departments with a duty (``duty`` 合法性审查)."""
    role: str
    key: str | None = None


_HEAD, _EXECUTIVE = LaneRole("head"), LaneRole("executive_deputy")
_PORTFOLIO, _OFFICE = LaneRole("portfolio_leader", "department"), LaneRole("office_clerk")
# The 办公室 as a department of its own (a document in its name, its staff's 督办 items): its clerks are its
# staff, its 主任 its head and its 副主任 its deputies.
OFFICE_POSTS = {"dept_staff": ("office_clerk",), "dept_head": ("office_director",),
                "dept_deputy": ("office_deputy_director",)}
# Lane names a designer may use. Both 区 and 市 forms are accepted so that one diagram serves all
# five jurisdictions.
LANE_ROLES = {
    "区长": _HEAD, "市长": _HEAD, "主要领导": _HEAD,
    "常务副区长": _EXECUTIVE, "常务副市长": _EXECUTIVE,
    "副区长": LaneRole("deputy"), "副市长": LaneRole("deputy"),
    "分管副区长": _PORTFOLIO, "分管副市长": _PORTFOLIO, "分管领导": _PORTFOLIO,
    "办公室主任": LaneRole("office_director"), "办公厅主任": LaneRole("office_director"),
    "秘书长": LaneRole("secretary_general"),
    "秘书长、副秘书长": LaneRole("any_post", "secretary_general deputy_secretary_general"),
    "办公室": _OFFICE, "办公厅": _OFFICE, "文书": _OFFICE,
    "承办单位": LaneRole("dept_staff", "department"), "主办单位": LaneRole("dept_staff", "department"),
    "承办单位负责人": LaneRole("dept_head", "department"), "主办单位负责人": LaneRole("dept_head", "department"),
    "会签单位": LaneRole("dept_head", "consulted_department"),   # a 会签 multi-instance's item
    "征求意见单位": LaneRole("reply_signers", "consulted_department"),   # its 负责人, as the profile says
    "合法性审查": LaneRole("duty", "合法性审查"), "司法局": LaneRole("duty", "合法性审查"),
    "公平竞争审查": LaneRole("duty", "公平竞争审查"), "市场监管局": LaneRole("duty", "公平竞争审查"),
    "督查": LaneRole("duty", "督查"), "督查室": LaneRole("duty", "督查"), "目标绩效": LaneRole("duty", "目标绩效"),
    "协办单位": LaneRole("dept_staff", "assisting_unit"),   # a multi-instance's item: one assisting unit
    "转办单位": LaneRole("dept_staff", "forward_to"),     # the department a document is forwarded to (D5)
    # 重大行政决策 (M8/M9): the reviewing unit the profile names, or the one the 办公室 chose where it names none
    "合法性审查单位": LaneRole("dept_staff", "legality_unit"),
    "公平竞争审查单位": LaneRole("dept_staff", "fair_competition_unit"),
    "事项分管领导": LaneRole("person", "leader"),   # the leader the data names (a 督办事项's 分管领导)
    "签发人": LaneRole("person", "signer"), "会签领导": LaneRole("person", "reviewer"),
    "审核领导": LaneRole("person", "reviewer"), "审批人": LaneRole("person", "approver"),
}


@dataclass(frozen=True)
class Assignment:
    role: str
    people: tuple[str, ...]

    @property
    def assignee(self) -> str | None:
        """One person is assigned directly; several are candidates who claim the task."""
        return self.people[0] if len(self.people) == 1 else None


class Organisation:
    def __init__(self, government: dict, local: dict, meeting: list[str], departments: list[Department],
                 people: list[Person], numbering: dict | None = None):
        self.name = government["name"]
        self.profile_id = government["profile"]
        self.office_id = government["office"]
        self.local = local
        self.numbering = dict(numbering or {})
        self.meeting_members = tuple(meeting)
        self.departments = {d.id: d for d in departments}
        self.people = {p.id: p for p in people}

    # -- loading --------------------------------------------------------------------------------------
    @classmethod
    def from_toml(cls, text: str) -> "Organisation":
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise ValidationFailed(f"组织机构文件不是合法的 TOML：{err}") from None
        return cls.from_document(document)

    @classmethod
    def from_document(cls, document: dict) -> "Organisation":
        problems = _Problems()
        government = document.get("government") or {}
        for key in ("name", "profile", "office"):
            if not isinstance(government.get(key), str) or not government.get(key):
                problems.add(f"government.{key}", "必填")
        departments = [_department(d, i, problems) for i, d in enumerate(document.get("departments", []))]
        people = [_person(p, i, problems) for i, p in enumerate(document.get("people", []))]
        meeting = (document.get("meeting") or {}).get("members", [])
        local = document.get("local") or {}
        numbering = document.get("numbering") or {}
        for key, value in numbering.items():
            if key not in NUMBERING_KEYS or not isinstance(value, str) or not value.strip():
                problems.add(f"numbering.{key}", f"编号代字须为 {'、'.join(NUMBERING_KEYS)} 之一的文本")
        _check_unique([d.id for d in departments], "departments", problems)
        _check_unique([p.id for p in people], "people", problems)
        problems.raise_if_any()
        org = cls(government, local, meeting, departments, people, numbering)
        org._check_references(problems)
        problems.raise_if_any()
        return org

    def _check_references(self, problems: "_Problems") -> None:
        from ..profiles import PROFILE_IDS
        if self.profile_id not in PROFILE_IDS:
            problems.add("government.profile", f"未知的规则配置 {self.profile_id}，可选：{', '.join(PROFILE_IDS)}")
        if self.office_id not in self.departments:
            problems.add("government.office", f"部门 {self.office_id} 不存在")
        for person in self.people.values():
            where = f"people.{person.id}"
            if person.department and person.department not in self.departments:
                problems.add(f"{where}.department", f"部门 {person.department} 不存在")
            for dept in person.portfolio:
                if dept not in self.departments:
                    problems.add(f"{where}.portfolio", f"部门 {dept} 不存在")
            partner = self.people.get(person.ab_partner) if person.ab_partner else None
            if person.ab_partner and (partner is None or partner.ab_partner != person.id):
                problems.add(f"{where}.ab_partner", "AB角须互为对方，且人员须存在")
        for post in ("head", "executive_deputy"):
            if len(self.with_post(post)) != 1:
                problems.add("people", f"须有且只有一名{POSTS[post]}（post = \"{post}\"）")
        for member in self.meeting_members:
            if member not in self.people:
                problems.add("meeting.members", f"人员 {member} 不存在")
        owners: dict[str, str] = {}
        for person in self.people.values():
            for dept in person.portfolio:
                if dept in owners:
                    problems.add(f"people.{person.id}.portfolio", f"部门 {dept} 已由 {owners[dept]} 分管")
                owners[dept] = person.id
        end = self.local.get("office_day_end", "17:30")
        if not isinstance(end, str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", end):
            problems.add("local.office_day_end", "须为 HH:MM 格式，如 17:30")
        for key, default in LOCAL_WORKDAYS.items():
            value = self.local.get(key, default)
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 250:
                problems.add(f"local.{key}", "须为 1 到 250 的整数（工作日）")

    # -- queries --------------------------------------------------------------------------------------
    @property
    def office_day_end(self) -> time:
        hours, minutes = self.local.get("office_day_end", "17:30").split(":")
        return time(int(hours), int(minutes))

    def person(self, person_id: str) -> Person | None:
        return self.people.get(person_id)

    def with_post(self, post: str, department: str | None = None) -> list[Person]:
        return [p for p in self.people.values()
                if p.post == post and (department is None or p.department == department)]

    def holds(self, person: Person, post: str) -> bool:
        """Whether ``person`` holds ``post`` in their department (the 办公室's own posts count: ``OFFICE_POSTS``)."""
        return person.post == post or (person.department == self.office_id
                                       and person.post in OFFICE_POSTS.get(post, ()))

    def head(self) -> Person:
        return self.with_post("head")[0]

    def executive_deputy(self) -> Person:
        return self.with_post("executive_deputy")[0]

    def portfolio_leader(self, department: str) -> Person | None:
        for person in self.people.values():
            if department in person.portfolio:
                return person
        return None

    def with_duty(self, duty: str) -> list[Department]:
        return [d for d in self.departments.values() if duty in d.duties]

    def local_workdays(self, key: str) -> int:
        """A local setting in 工作日 (the rules set none: ``[local]`` of the organisation, or the default)."""
        return int(self.local.get(key, LOCAL_WORKDAYS[key]))

    @property
    def followup_prefix(self) -> str:
        """督办编号's 代字: ``[numbering] followup``, or 督办."""
        return self.numbering.get("followup") or "督办"

    def document_prefix(self, issuer: str, doc_type: str) -> str:
        """The 机关代字 of a document issued by ``issuer`` (政府 or 政府办公室)."""
        key = "office" if issuer == "政府办公室" else "letter" if doc_type == "函" else "government"
        prefix = self.numbering.get(key) or self.numbering.get("government")
        if not prefix:
            raise ValidationFailed("组织机构未设置机关代字（[numbering]），无法编发文字号",
                                   [{"field": "numbering", "reason": key}])
        return prefix

    def display_name(self, person_id: str | None) -> str:
        person = self.people.get(person_id or "")
        return person.name if person else (person_id or "")

    # -- lanes ----------------------------------------------------------------------------------------
    def resolve_lane(self, lane: str | None, data: dict, profile=None) -> Assignment:
        """The people a lane's task goes to. Raises ValidationFailed when the data does not say
        enough (no department, a department without a 分管领导): the step is refused rather than
        leaving a task nobody sees."""
        lane_role = LANE_ROLES.get((lane or "").strip())
        if lane_role is None:
            raise ValidationFailed(f"泳道“{lane}”没有对应的角色", [{"field": "lane", "reason": str(lane)}])
        people = self._people_for(lane_role, data, profile)
        if not people:
            raise ValidationFailed(f"无法确定“{lane}”的办理人：组织机构中没有对应人员",
                                   [{"field": "lane", "reason": lane}])
        return Assignment(lane_role.role, tuple(people))

    def _people_for(self, lane: LaneRole, data: dict, profile) -> list[str]:
        if lane.role == "duty":
            return [p.id for d in self.with_duty(lane.key) for p in self.people.values()
                    if p.department == d.id and p.post in ("dept_staff", "office_clerk")]
        if lane.role == "person":
            return [self._person_from(data, lane.key)]
        if lane.role == "reply_signers":     # T3: a consulted unit's reply is signed by its head (or deputy)
            department = self._department_from(data, lane.key)
            posts = (profile.value("consult_reply_signers") if profile else None) or ["dept_head", "dept_deputy"]
            return [p.id for post in posts for p in self.with_post(post, department)]
        if lane.role == "any_post":
            return [p.id for post in lane.key.split() for p in self.with_post(post)]
        if lane.role == "office_clerk":
            return [p.id for p in self.with_post("office_clerk", self.office_id)]
        if lane.key is None:
            return [p.id for p in self.with_post(lane.role)]
        department = self._department_from(data, lane.key)
        if lane.role == "portfolio_leader":
            leader = self.portfolio_leader(department)
            if leader is None:
                raise ValidationFailed(f"部门“{self.departments[department].name}”没有分管领导",
                                       [{"field": lane.key, "reason": department}])
            return [leader.id]
        posts = (lane.role, *OFFICE_POSTS.get(lane.role, ())) if department == self.office_id else (lane.role,)
        return [p.id for post in posts for p in self.with_post(post, department)]

    def _person_from(self, data: dict, key: str) -> str:
        person = data.get(key)
        if not isinstance(person, str) or person not in self.people:
            raise ValidationFailed(f"流程数据中的办理人（{key}）无效，无法确定下一步办理人",
                                   [{"field": key, "reason": f"未知人员 {person!r}"}])
        return person

    def _department_from(self, data: dict, key: str) -> str:
        department = data.get(key)
        if not isinstance(department, str) or department not in self.departments:
            raise ValidationFailed(f"流程数据缺少有效的部门（{key}），无法确定下一步办理人",
                                   [{"field": key, "reason": f"未知部门 {department!r}"}])
        return department

    def to_dict(self) -> dict:
        return {
            "government": {"name": self.name, "profile": self.profile_id, "office": self.office_id},
            "local": dict(self.local),
            "meeting": {"members": list(self.meeting_members)},
            "numbering": dict(self.numbering),
            "departments": [{"id": d.id, "name": d.name, "duties": list(d.duties)}
                            for d in self.departments.values()],
            "people": [{"id": p.id, "name": p.name, "post": p.post, "department": p.department,
                        "portfolio": list(p.portfolio), "ab_partner": p.ab_partner, "roles": sorted(p.roles)}
                       for p in self.people.values()],
        }


class _Problems:
    def __init__(self):
        self.items: list[dict] = []

    def add(self, field_: str, reason: str) -> None:
        self.items.append({"field": field_, "reason": reason})

    def raise_if_any(self) -> None:
        if self.items:
            first = self.items[0]
            raise ValidationFailed(f"组织机构文件有 {len(self.items)} 处错误，如 {first['field']}：{first['reason']}",
                                   self.items)


def _text(raw: dict, key: str, where: str, problems: _Problems, required: bool = True) -> str | None:
    value = raw.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        problems.add(f"{where}.{key}", "必填，须为文本")
        return None
    return value


def _department(raw: dict, index: int, problems: _Problems) -> Department:
    where = f"departments[{index}]"
    dept_id = _text(raw, "id", where, problems) or ""
    if dept_id and not _ID.match(dept_id):
        problems.add(f"{where}.id", "须为小写字母开头的字母数字标识")
    duties = tuple(raw.get("duties", []))
    for duty in duties:
        if duty not in DUTIES:
            problems.add(f"{where}.duties", f"未知职责“{duty}”，可选：{'、'.join(sorted(DUTIES))}")
    return Department(dept_id, _text(raw, "name", where, problems) or "", duties)


def _person(raw: dict, index: int, problems: _Problems) -> Person:
    where = f"people[{index}]"
    person_id = _text(raw, "id", where, problems) or ""
    if person_id and not _ID.match(person_id):
        problems.add(f"{where}.id", "登录名须为小写字母开头的字母数字标识")
    post = raw.get("post")
    if post not in POSTS:
        problems.add(f"{where}.post", f"未知职务 {post!r}，可选：{', '.join(POSTS)}")
    department = _text(raw, "department", where, problems, required=post in DEPARTMENT_POSTS)
    roles = frozenset(raw.get("roles", []))
    if roles - SYSTEM_ROLES:
        problems.add(f"{where}.roles", f"未知系统角色 {sorted(roles - SYSTEM_ROLES)}")
    return Person(person_id, _text(raw, "name", where, problems) or "", post or "", department,
                  tuple(raw.get("portfolio", [])), raw.get("ab_partner"), roles, raw.get("password"))


def _check_unique(ids: list[str], where: str, problems: _Problems) -> None:
    seen = set()
    for item in ids:
        if item in seen:
            problems.add(where, f"标识 {item} 重复")
        seen.add(item)
