"""Deploying a BPMN file: read it safely, check it (XSD, govflow's lint, SpiffWorkflow's parser,
lanes, forms, operators), normalise timer text, and store each executable process as a new
version — the file and its forms once, by content hash. A rejected file stores nothing."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..engine import forms as form_files
from ..engine import spiff
from ..errors import ValidationFailed
from ..store.eventlog import EventBatch
from ..store.models import Blob, ProcessVersion
from . import lint
from .problems import Problem
from .xml import NS, Unreadable, read, to_bytes, xsd_problems


@dataclass
class Checked:
    problems: list[Problem]
    content: bytes = b""                           # the normalised file
    processes: dict[str, str] = field(default_factory=dict)   # process id -> name
    forms: dict[str, str] = field(default_factory=dict)       # form name -> text

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


class FormSource:
    """Forms come from ``forms/`` unless the upload brings its own."""

    def __init__(self, forms_dir: Path, uploaded: dict[str, str] | None = None):
        self.forms_dir = forms_dir
        self.uploaded = uploaded or {}
        self.texts: dict[str, str] = {}
        self._schemas: dict[str, dict] = {}

    def __call__(self, name: str) -> dict:
        if name not in self._schemas:
            if name in self.uploaded:
                text = self.uploaded[name]
                schema = form_files.check_schema_text(text, name)
            else:
                text, schema = form_files.load(self.forms_dir, name)
            self.texts[name], self._schemas[name] = text, schema
        return self._schemas[name]


def check(content: bytes, filename: str, forms: FormSource) -> Checked:
    """Every problem of the file in one answer: the XSD, govflow's checks of the XML, then
    SpiffWorkflow's parser and the checks of its specs, each pass run whatever the one before found."""
    try:
        tree = read(content)
    except Unreadable as err:
        return Checked([err.problem])
    problems = xsd_problems(tree) + lint.check_xml(tree, forms)
    normalised = to_bytes(tree)
    try:
        parser = spiff.parse(read(normalised), filename)
        process_ids = parser.get_process_ids()
        specs = [s for pid in process_ids for s in _all_specs(*spiff.load_specs(parser, pid))]
    except Exception as err:  # SpiffWorkflow's own rejections, and its bugs: never a traceback
        return Checked(_unless_said(problems, _spiff_problem(err), tree))
    spec_problems, used = lint.check_specs(specs, forms)
    problems += [p for p in spec_problems if p not in problems]
    if any(p.severity == "error" for p in problems):
        return Checked(problems)
    names = {pid: _process_name(tree, pid) for pid in process_ids}
    return Checked(problems, normalised, names, {name: forms.texts[name] for name in sorted(used)})


def _unless_said(problems: list[Problem], engine: Problem, tree) -> list[Problem]:
    """The parser stops at its first complaint, usually one govflow's checks already named in words
    on the element or on one of its flows."""
    errors = {p.element for p in problems if p.severity == "error"}
    near = {engine.element} | {f.get("id") for f in tree.getroot().iter(f"{{{NS['bpmn']}}}sequenceFlow")
                               if engine.element in (f.get("sourceRef"), f.get("targetRef"))}
    if errors & near or (errors and engine.element == "(文件)"):
        return problems
    return problems + [engine]


def _all_specs(spec, subprocess_specs) -> list:
    return [spec, *subprocess_specs.values()]


# SpiffWorkflow's parser messages, said for designers (its English never reaches them)
_ENGINE_MESSAGES = (
    ("When looking for a task spec", "连线指向的元素不存在或不唯一：请检查该元素的连线两端"),
    ("Multiple outgoing flows are not supported", "有多条流出连线：请在其后加并行网关或排他网关"),
    ("No start event found", "没有开始事件"),
    ("is not executable", "流程未标记为可执行（isExecutable=\"true\"）"),
    ("There is no support implemented for this task type", "govflow 的流程引擎不支持这种元素"),
    ("Duplicate process ID", "文件中有两个同样标识的流程"),
    ("A Service Task must have an operator", "服务任务没有指定要调用的操作（serviceTaskOperator）"),
    ("Cannot resolve data", "数据关联引用了不存在的数据对象"),
    ("identifier is missing", "事件引用的定义（消息、信号、错误或升级）不存在"),
    ("Expected a", "事件缺少它引用的定义（消息、信号、错误或升级）"),
    ("loop", "多实例或循环的设置不完整（输入输出集合、循环条件）"),
    ("Time Specification", "定时器的时间写法无法识别"),
    ("raise_validation_exception", "错误或升级事件缺少引用"),
)


def _spiff_problem(err: Exception) -> Problem:
    element = getattr(err, "id", "") or "(文件)"
    message = str(err).split("\n")[0] or type(err).__name__
    said = next((words for key, words in _ENGINE_MESSAGES if key in message), None)
    reason = f"流程引擎无法解析：{said}" if said else "流程引擎无法解析此处：请对照 BPMN 2.0 规范检查该元素"
    return Problem(element, reason, line=getattr(err, "line_number", None) or None)


def _process_name(tree, process_id: str) -> str:
    for process in tree.getroot().findall(f"{{{NS['bpmn']}}}process"):
        if process.get("id") == process_id:
            return process.get("name") or process_id
    return process_id


def sha256(text: str | bytes) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


def store(session: Session, checked: Checked, filename: str, actor: str, events: EventBatch, now) -> list[dict]:
    """Store the checked file: each process a new version unless it is unchanged."""
    bpmn_text = checked.content.decode("utf-8")
    bpmn_hash = _blob(session, "bpmn", bpmn_text)
    form_hashes = {name: _blob(session, "form", text) for name, text in checked.forms.items()}
    forms_json = json.dumps(form_hashes, sort_keys=True, ensure_ascii=False)
    results = []
    for process_id, name in checked.processes.items():
        latest = session.scalars(select(ProcessVersion).where(ProcessVersion.process_id == process_id)
                                 .order_by(ProcessVersion.version.desc()).limit(1)).first()
        if latest and latest.bpmn_hash == bpmn_hash and latest.forms == forms_json:
            results.append(_summary(latest, unchanged=True))
            continue
        version = ProcessVersion(process_id=process_id, version=(latest.version + 1) if latest else 1, name=name,
                                 bpmn_hash=bpmn_hash, forms=forms_json, filename=filename[:200],
                                 deployed_at=now, deployed_by=actor)
        session.add(version)
        session.flush()
        events.record("definition_deployed", actor, now, {"process_id": process_id, "version": version.version,
                                                          "bpmn_hash": bpmn_hash, "forms": form_hashes,
                                                          "filename": filename})
        results.append(_summary(version, unchanged=False))
    return results


def _blob(session: Session, kind: str, text: str) -> str:
    digest = sha256(text)
    if session.get(Blob, digest) is None:
        session.add(Blob(hash=digest, kind=kind, content=text))
    return digest


def _summary(version: ProcessVersion, unchanged: bool) -> dict:
    return {"process_id": version.process_id, "version": version.version, "name": version.name,
            "bpmn_hash": version.bpmn_hash, "unchanged": unchanged}


def deploy(gf, content: bytes, filename: str, actor: str, uploaded_forms: dict[str, str] | None = None) -> dict:
    """Check and store a BPMN file. Raises ValidationFailed listing every problem (and stores
    nothing) when the file is rejected."""
    checked = check(content, filename, FormSource(gf.settings.forms_dir, uploaded_forms))
    warnings = [p.to_dict() for p in checked.problems if p.severity != "error"]
    if checked.errors:
        details = [p.to_dict() for p in checked.problems]
        first = checked.errors[0]
        raise ValidationFailed(f"流程图未通过检查（{len(checked.errors)} 处问题），如 {first.element}：{first.reason}",
                               details)
    with gf.store.write() as session:
        events = EventBatch()
        versions = store(session, checked, filename, actor, events, gf.now(session))
        events.append_to(session)
    return {"versions": versions, "warnings": warnings}
