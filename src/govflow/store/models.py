"""The tables. Snapshots are text, stored compressed (never JSONB: SPIFFWORKFLOW-NOTES trap 6);
everything the inbox queries is a column with an index next to it; times are stored in UTC and shown
in +08:00."""
from __future__ import annotations

import zlib
from datetime import date, datetime, timezone

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

MAX_ID = 2**31 - 1      # the largest id an Integer column holds on PostgreSQL (SQLite's go to 2^63 - 1)


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (naive storage) and PostgreSQL alike."""
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: govflow stores aware datetimes only")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class CompressedText(TypeDecorator):
    """Text stored deflated: a snapshot's JSON repeats its keys and ids so much that it shrinks 6×
    even at the fastest level (55 µs for a 28 KB snapshot; level 6 gains 15% more for 3× the time on
    every step), and it is the largest thing govflow stores per task. Its bytes keep the text's exact
    key order."""
    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else zlib.compress(value.encode("utf-8"), 1)

    def process_result_value(self, value, dialect):
        return None if value is None else zlib.decompress(value).decode("utf-8")


class Base(DeclarativeBase):
    pass


# -- organisation and accounts ------------------------------------------------------------------------
class OrganisationVersion(Base):
    """The organisation as loaded from TOML; the newest row is in force."""
    __tablename__ = "organisation"
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    document: Mapped[str] = mapped_column(Text)          # JSON of the parsed TOML (passwords removed)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    loaded_by: Mapped[str] = mapped_column(String(40))


class Account(Base):
    __tablename__ = "account"
    person_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ApiToken(Base):
    __tablename__ = "api_token"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(40), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginFailure(Base):
    """A failed login, kept for the throttle's window: in the database, so that every app server
    and worker process counts the same failures."""
    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_user", "username", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class RefusedWrite(Base):
    """Writes refused for the caller's role or standing (403), aggregated: one row per person, day
    (Shanghai) and kind (method, endpoint, reason), counting repeats (audit/refusals.py says why this is
    not the event chain, and how it stays bounded)."""
    __tablename__ = "refused_write"
    __table_args__ = (Index("ux_refused_write_kind", "actor", "day", "kind", unique=True),
                      Index("ix_refused_write_last", "last_at"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor: Mapped[str] = mapped_column(String(40))
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(64))           # sha256 of method, endpoint and reason
    method: Mapped[str] = mapped_column(String(10))
    endpoint: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(300))
    target: Mapped[str] = mapped_column(String(300))        # the path of the latest one
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
    count: Mapped[int] = mapped_column(Integer)


class Leave(Base):
    """请假/外出: while a leave runs, the person's tasks are acted on by their substitute (P1/P2)."""
    __tablename__ = "leave"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str] = mapped_column(String(40), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    reason: Mapped[str] = mapped_column(String(200), default="")
    recorded_by: Mapped[str] = mapped_column(String(40))
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    instance_id: Mapped[int | None] = mapped_column(Integer, nullable=True)   # the 请销假 procedure that approved it
    approved_by: Mapped[str] = mapped_column(String(200), default="", server_default="")   # person ids, comma-separated


# -- calendar and clock -------------------------------------------------------------------------------
class CalendarDay(Base):
    """An administrator's override of one day (a holiday or a 调休 make-up working day)."""
    __tablename__ = "calendar_day"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    workday: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(100), default="")


class CalendarYear(Base):
    """A year whose official schedule has been entered: its days are no longer estimated."""
    __tablename__ = "calendar_year"
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(200))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Revision(Base):
    """What processes cache of a setting (the calendar's overrides and published years) is keyed by
    its revision: a change writes a new token in its own transaction, and every app server and worker
    reads the setting again once the token it sees has moved. A token, not a counter: a change that
    rolled back can never be mistaken for a later one."""
    __tablename__ = "revision"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    token: Mapped[str] = mapped_column(String(32))


class IdempotentRequest(Base):
    """A write sent with an ``Idempotency-Key``: written in the transaction of the write itself
    (so it exists exactly when the write committed), then given the answer, which a retry with the
    same key gets instead of a second write. ``status`` is null while the answer is not recorded."""
    __tablename__ = "idempotent_request"
    person: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))      # method, path and body, hashed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    status: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(100))
    location: Mapped[str | None] = mapped_column(String(2000))
    body: Mapped[bytes | None] = mapped_column(LargeBinary)


class ClockSetting(Base):
    """The demo/test clock: a frozen instant or an offset from the real time. One row."""
    __tablename__ = "clock_setting"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    offset_seconds: Mapped[float] = mapped_column(default=0.0)


# -- definitions --------------------------------------------------------------------------------------
class Blob(Base):
    """Content stored once by its SHA-256: a BPMN file or a form schema."""
    __tablename__ = "blob"
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))        # "bpmn" | "form"
    content: Mapped[str] = mapped_column(Text)


class ProcessVersion(Base):
    __tablename__ = "process_version"
    __table_args__ = (Index("ux_process_version", "process_id", "version", unique=True),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    bpmn_hash: Mapped[str] = mapped_column(ForeignKey("blob.hash"))
    forms: Mapped[str] = mapped_column(Text, default="{}")   # JSON {form file name: blob hash}
    filename: Mapped[str] = mapped_column(String(200))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deployed_by: Mapped[str] = mapped_column(String(40))


# -- instances and their derived rows -----------------------------------------------------------------
class Instance(Base):
    __tablename__ = "instance"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"))
    process_id: Mapped[str] = mapped_column(String(100), index=True)
    business_key: Mapped[str | None] = mapped_column(String(100), index=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(20), index=True)    # running | completed
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_by: Mapped[str] = mapped_column(String(40))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    department: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)   # 承办单位, from its data
    secrecy: Mapped[str] = mapped_column(String(10), default="", server_default="")        # 密级, from its data
    urgency: Mapped[str] = mapped_column(String(10), default="一般", server_default="一般")   # 紧急程度, from its data
    search_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)   # of its indexed document
    snapshot: Mapped[str] = mapped_column(CompressedText)        # SpiffWorkflow's JSON, without the spec
    snapshot_hash: Mapped[str] = mapped_column(String(64))
    next_timer_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    lock_version: Mapped[int] = mapped_column(Integer)
    __mapper_args__ = {"version_id_col": lock_version}


class Task(Base):
    """The inbox. Rows of kind ``task`` are the workflow's user tasks, derived from the snapshot
    after every step; ``addsign`` (加签) and ``read`` (传阅) rows are made by task operations."""
    __tablename__ = "task"
    __table_args__ = (
        Index("ix_task_assignee_open", "assignee", "state", "due_at"),
        Index("ix_task_state_due", "state", "due_at"),
        Index("ix_task_process_state", "process_id", "state"),
        Index("ix_task_done_by", "completed_by", "completed_at"),
        # 委派: whose delegated tasks (the search reads them as a set); partial, or its statistics (almost
        # every owner is empty) make it look worse than a scan of the table
        Index("ix_task_owner", "owner", sqlite_where=text("owner IS NOT NULL"),
              postgresql_where=text("owner IS NOT NULL")),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)        # SpiffWorkflow task id
    kind: Mapped[str] = mapped_column(String(10), default="task")         # task | addsign | read
    parent_task_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    note: Mapped[str] = mapped_column(String(2000), default="")
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(100))
    business_key: Mapped[str | None] = mapped_column(String(100), index=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    step_id: Mapped[str] = mapped_column(String(100))
    step_name: Mapped[str] = mapped_column(String(200))
    lane: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(40))
    form: Mapped[str | None] = mapped_column(String(200), nullable=True)
    assignee: Mapped[str | None] = mapped_column(String(40), nullable=True)
    owner: Mapped[str | None] = mapped_column(String(40), nullable=True)   # 委派: who gets it back
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    due_estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    due_from: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)   # a 工作日 deadline's basis:
    due_workdays: Mapped[int | None] = mapped_column(Integer, nullable=True)         # recomputed when estimated
    urgency: Mapped[str] = mapped_column(String(10), default="一般")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(12))       # open | completed | cancelled | returned
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    acting_for: Mapped[str | None] = mapped_column(String(40), nullable=True)
    pressed_count: Mapped[int] = mapped_column(Integer, default=0)
    last_pressed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    escalate_to: Mapped[str | None] = mapped_column(String(400), nullable=True)   # person ids, comma-separated
    escalate_after: Mapped[int | None] = mapped_column(Integer, nullable=True)    # presses before escalating
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class TaskCandidate(Base):
    """Who may claim an unassigned task (a lane that resolves to a group)."""
    __tablename__ = "task_candidate"
    task_id: Mapped[str] = mapped_column(ForeignKey("task.id"), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    __table_args__ = (Index("ix_candidate_person", "person_id", "task_id"),)


class Distribution(Base):
    """分发范围 of a 涉密 instance: a person (kind ``person``) or a whole department (``department``)."""
    __tablename__ = "distribution"
    __table_args__ = (Index("ix_distribution_ref", "kind", "ref", "instance_id"),)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    ref: Mapped[str] = mapped_column(String(40), primary_key=True)


# -- documents ----------------------------------------------------------------------------------------
class DocumentSequence(Base):
    """The last 发文字号 given per 机关代字 and year; taken under a row lock, so numbers have no gaps
    and no duplicates (the step that takes one commits it, or gives it back by rolling back)."""
    __tablename__ = "document_sequence"
    prefix: Mapped[str] = mapped_column(String(40), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class DocumentRegister(Base):
    """发文登记簿: one row per numbered document."""
    __tablename__ = "document_register"
    __table_args__ = (Index("ux_document_number", "prefix", "year", "sequence", unique=True),)
    number: Mapped[str] = mapped_column(String(80), primary_key=True)    # 巴州府发〔2026〕12号
    prefix: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    doc_type: Mapped[str] = mapped_column(String(10))
    signer: Mapped[str] = mapped_column(String(40))
    signed_on: Mapped[date] = mapped_column(Date)                          # 成文日期
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)


# -- the 常务会议 -----------------------------------------------------------------------------------
class Meeting(Base):
    __tablename__ = "meeting"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int | None] = mapped_column(Integer, nullable=True)   # 第N次 in its year, given when it opens
    title: Mapped[str] = mapped_column(String(200))
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), index=True)
    # planned | frozen (东昌: agenda approved) | opened | adjourned (流会) | held | signed
    instance_id: Mapped[int | None] = mapped_column(Integer, nullable=True)   # its meeting process
    members: Mapped[int] = mapped_column(Integer, default=0)
    present: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(40))
    __table_args__ = (Index("ux_meeting_number", "year", "number", unique=True),
                      Index("ux_meeting_time", "scheduled_at", unique=True))   # one meeting at a time


class AgendaItem(Base):
    """A topic (or a T12 emergency report) on a meeting's agenda, and what the meeting decided."""
    __tablename__ = "agenda_item"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))                    # topic | emergency_report
    topic_instance_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    department: Mapped[str | None] = mapped_column(String(40), nullable=True)
    status: Mapped[str] = mapped_column(String(20))   # scheduled | moved | withdrawn | decided | reported
    late_exception: Mapped[str] = mapped_column(String(500), default="")   # the 区长's approval of a late topic
    outcome: Mapped[str | None] = mapped_column(String(10), nullable=True)  # 通过 原则通过 暂缓 不通过
    conclusion: Mapped[str] = mapped_column(Text, default="")
    recused: Mapped[str] = mapped_column(Text, default="[]")          # JSON [{"person", "reason"}]
    decisions: Mapped[str] = mapped_column(Text, default="[]")        # JSON: proposed for the minutes


class Attendance(Base):
    __tablename__ = "attendance"
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    present: Mapped[bool] = mapped_column(Boolean)
    leave_reason: Mapped[str] = mapped_column(String(200), default="")


class DecisionItem(Base):
    """One decision of signed minutes: the input of the follow-up procedure (议定事项督办)."""
    __tablename__ = "decision_item"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    agenda_item_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_item.id"), nullable=True)
    sequence: Mapped[int] = mapped_column(Integer)
    task: Mapped[str] = mapped_column(Text)
    lead_unit: Mapped[str] = mapped_column(String(40))
    assisting_units: Mapped[str] = mapped_column(Text, default="[]")   # JSON list of department ids
    due_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EmergencyDecision(Base):
    """T12: a decision taken at once outside a meeting, to be reported to the next one."""
    __tablename__ = "emergency_decision"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    matter: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(40))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    agenda_item_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_item.id"), nullable=True)


# -- 议定事项督办 ---------------------------------------------------------------------------------
class FollowupItem(Base):
    """One 督办事项: a decision of signed minutes (or a leader's 批示, a 专题会议, a 人大建议/政协提案)
    tracked to 销号 by its own decision_followup process; the 督办台账 is a list of these."""
    __tablename__ = "followup_item"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(60), unique=True)             # 督办编号
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), unique=True)
    source: Mapped[str] = mapped_column(String(20))       # 常务会议 | 领导批示 | 专题会议 | 人大建议 | 政协提案
    source_ref: Mapped[str] = mapped_column(String(300), default="")
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id"), nullable=True, index=True)
    decision_item_id: Mapped[int | None] = mapped_column(ForeignKey("decision_item.id"), nullable=True,
                                                         unique=True)
    task: Mapped[str] = mapped_column(Text)
    lead_unit: Mapped[str] = mapped_column(String(40), index=True)
    assisting_units: Mapped[str] = mapped_column(Text, default="[]")          # JSON list of department ids
    leader: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)   # the 分管领导
    due_on: Mapped[date] = mapped_column(Date, index=True)
    original_due_on: Mapped[date] = mapped_column(Date)
    report_every_wd: Mapped[int] = mapped_column(Integer)                    # 限期报告, in 工作日
    status: Mapped[str] = mapped_column(String(20), index=True)  # assigned | in_progress | applying | closed
    reports: Mapped[int] = mapped_column(Integer, default=0)
    late_reports: Mapped[int] = mapped_column(Integer, default=0)
    extensions: Mapped[int] = mapped_column(Integer, default=0)
    topic_instance_id: Mapped[int | None] = mapped_column(Integer, nullable=True)   # F7: the topic it opened
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)   # 申请销号, awaiting 核查
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class FollowupEntry(Base):
    """What happened to an item, in order: 交办, 签收, each report, 延期, 核查, 销号…"""
    __tablename__ = "followup_entry"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("followup_item.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    text: Mapped[str] = mapped_column(Text, default="")                       # JSON: what was reported or decided



class MajorDecision(Base):
    """One 重大行政决策 (Procedure 4, RULES-M.md): the matter a department flagged as major (M1), the
    records of each statutory step it went through (M2-M10, JSON), and the topic that took it to the
    常务会议. A topic reads its materials from here (T4), never from the boxes a department ticks."""
    __tablename__ = "major_decision"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(String(40), index=True)
    scope_item: Mapped[str] = mapped_column(String(200))                  # M1: the list item it falls under
    scope_article: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(20), index=True)   # preparing | submitted | decided | evaluated | closed
    records: Mapped[str] = mapped_column(Text, default="{}")              # JSON: step -> its record
    topic_instance_id: Mapped[int | None] = mapped_column(Integer, nullable=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
# -- files (正文, 附件) ---------------------------------------------------------------------------------
class FileContent(Base):
    """Bytes stored once by their SHA-256, in ``file_chunk`` rows (``stored_in`` = "db") or in the
    configured directory ("dir"); ``store.contents`` reads and writes them in chunks."""
    __tablename__ = "file_content"
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    stored_in: Mapped[str] = mapped_column(String(4), default="db")


class FileChunk(Base):
    __tablename__ = "file_chunk"
    hash: Mapped[str] = mapped_column(ForeignKey("file_content.hash"), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Attachment(Base):
    """A file attached to a matter at a step: a 正文 (each upload the next version) or an 附件. The
    event that attached it (``file_attached``) carries the same hash, so the chain covers the file."""
    __tablename__ = "attachment"
    __table_args__ = (Index("ix_attachment_instance", "instance_id", "role", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"))
    task_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    step_id: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(4))               # 正文 | 附件
    version: Mapped[int] = mapped_column(Integer, default=1)   # of the 正文; 附件 count on their own
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))              # what the bytes are: docx, pdf, …
    size: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(ForeignKey("file_content.hash"))
    uploaded_by: Mapped[str] = mapped_column(String(40))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


# -- the event log ------------------------------------------------------------------------------------
class Event(Base):
    """Append-only, hash-chained: ``hash`` covers the row and the previous row's hash."""
    __tablename__ = "event"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(32))           # +08:00 ISO text, exactly as hashed
    type: Mapped[str] = mapped_column(String(40), index=True)
    actor: Mapped[str] = mapped_column(String(40))
    instance_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    instance_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    task_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    payload: Mapped[str] = mapped_column(Text)            # canonical JSON, exactly as hashed
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    seal: Mapped[str | None] = mapped_column(String(64), nullable=True)   # HMAC of hash; None before sealing began
    __table_args__ = (Index("ix_event_instance", "instance_id", "instance_seq"),)


class ChainHead(Base):
    """The last link of the chain; appending locks this row so that the chain stays a line."""
    __tablename__ = "chain_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    sealed_from: Mapped[int | None] = mapped_column(Integer, nullable=True)   # the first sealed event
    seal: Mapped[str | None] = mapped_column(String(64), nullable=True)       # HMAC of seq, hash, sealed_from



# -- notifications (the outbox) ---------------------------------------------------------------------------
class Notification(Base):
    """A message to one person, written in the transaction of the step that caused it (the outbox):
    the in-app 消息 and what the delivery worker sends out (``work/delivery.py``)."""
    __tablename__ = "notification"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)     # also the idempotency key sent out
    event_key: Mapped[str] = mapped_column(String(36))                # shared by the recipients of one event
    person_id: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(String(2000), default="")
    link: Mapped[str] = mapped_column(String(200), default="")
    secret: Mapped[bool] = mapped_column(Boolean, default=False)      # 秘密/机密: nothing of it leaves govflow
    instance_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    task_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    dispatched: Mapped[bool] = mapped_column(Boolean, default=False)  # its deliveries are planned
    __table_args__ = (Index("ix_notification_person", "person_id", "read_at", "created_at"),
                      Index("ix_notification_pending", "dispatched", sqlite_where=text("NOT dispatched"),
                            postgresql_where=text("NOT dispatched")))


class NotificationDelivery(Base):
    """One message on one channel to one target; ``key`` makes a target get an event once (a
    department's robot gets a group task once, whoever of the group it was for)."""
    __tablename__ = "notification_delivery"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    notification_id: Mapped[str] = mapped_column(String(36), index=True)
    channel: Mapped[str] = mapped_column(String(10))                  # email | wecom | dingtalk
    target: Mapped[str] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(10))                    # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime)            # due, or the end of a sender's lease
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    __table_args__ = (Index("ix_delivery_due", "state", "next_at"),)


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempt"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(Integer, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str] = mapped_column(String(500), default="")
    milliseconds: Mapped[int] = mapped_column(Integer, default=0)


class NotifyChannel(Base):
    """Where messages go outside govflow: a person's email or robot, or a department's robot."""
    __tablename__ = "notify_channel"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(10))                    # person | department
    owner: Mapped[str] = mapped_column(String(40), index=True)        # the person's or the department's id
    channel: Mapped[str] = mapped_column(String(10))
    target: Mapped[str] = mapped_column(String(500))


class NotifyPreference(Base):
    """A person's choice: which channels, and quiet hours (Shanghai time) when nothing is sent."""
    __tablename__ = "notify_preference"
    person_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    channels: Mapped[str] = mapped_column(String(100), default="email,wecom,dingtalk")
    quiet_from: Mapped[str] = mapped_column(String(5), default="")    # "22:00"; empty: none
    quiet_to: Mapped[str] = mapped_column(String(5), default="")
