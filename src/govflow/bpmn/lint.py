"""govflow's own checks of a BPMN file, each answering with the element id and what to do.

Two passes. ``check_xml`` runs before SpiffWorkflow sees the file: it catches what SpiffWorkflow
would reject with an unclear message, crash on, or accept and then misrun (the traps of
SPIFFWORKFLOW-NOTES). ``check_specs`` runs on SpiffWorkflow's parsed specs — the same objects the
engine runs — for lanes, forms and operators.
"""
from __future__ import annotations

import ast
from collections.abc import Callable

from SpiffWorkflow.bpmn.specs.mixins.manual_task import ManualTask
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import ParallelMultiInstanceTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask

from ..engine import operators, sandbox
from ..engine.forms import DUE_PROPERTY, ESCALATE_AFTER_PROPERTY, ESCALATE_TO_PROPERTY, FORM_PROPERTY, FormInvalid
from ..people.org import LANE_ROLES
from . import timers
from .definitions import start_form
from .problems import Problem
from .xml import NS, local

FormLoader = Callable[[str], dict]    # form name -> schema; raises FormInvalid

_ACTIVITIES = {"task", "userTask", "manualTask", "serviceTask", "scriptTask", "sendTask", "receiveTask",
               "businessRuleTask", "subProcess", "callActivity", "transaction", "adHocSubProcess"}
_EVENTS = {"startEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
_GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}
_CAMUNDA = "http://camunda.org/schema/1.0/bpmn"


def _q(tag: str) -> str:
    prefix, name = tag.split(":")
    return f"{{{NS[prefix]}}}{name}"


# Element types as designers read them (the Chinese names bpmn-js shows in govflow's modeler)
KIND_NAMES = {
    "task": "任务", "userTask": "用户任务", "manualTask": "手工任务", "serviceTask": "服务任务",
    "scriptTask": "脚本任务", "sendTask": "发送任务", "receiveTask": "接收任务", "businessRuleTask": "业务规则任务",
    "subProcess": "子流程", "callActivity": "调用活动", "transaction": "事务子流程", "adHocSubProcess": "自由子流程",
    "startEvent": "开始事件", "endEvent": "结束事件", "intermediateCatchEvent": "中间捕获事件",
    "intermediateThrowEvent": "中间抛出事件", "boundaryEvent": "边界事件",
    "exclusiveGateway": "排他网关", "parallelGateway": "并行网关", "inclusiveGateway": "包容网关",
    "eventBasedGateway": "事件网关", "complexGateway": "复杂网关", "sequenceFlow": "连线",
    "process": "流程", "lane": "泳道",
}


def kind_name(el) -> str:
    return KIND_NAMES.get(local(el), local(el))


def _label(el) -> str:
    name = el.get("name")
    return f"{kind_name(el)}“{name}”" if name else f"{kind_name(el)} {el.get('id')} "  # the space before 的, 没有…


# -- pass 1: the XML -----------------------------------------------------------------------------------
def check_xml(tree, load_form: FormLoader) -> list[Problem]:
    root = tree.getroot()
    processes = root.findall(_q("bpmn:process"))
    problems: list[Problem] = []
    executable = [p for p in processes if p.get("isExecutable") == "true"]
    if not processes:
        return [Problem("(文件)", "文件中没有流程（bpmn:process）")]
    if not executable:
        return [Problem(p.get("id") or "(流程)", _NOT_EXECUTABLE) for p in processes]
    called = {c.get("calledElement") for c in root.iter(_q("bpmn:callActivity"))}
    ids = {p.get("id") for p in processes}
    for process in processes:
        if process.get("isExecutable") == "true" or process.get("id") in called:
            problems += _check_process(process, ids, load_form)
    problems += _check_definitions(root)
    return problems + _check_lengths(root)


# What the tables hold (models.py: process and step ids String(100), names String(200), lanes String(100)):
# SQLite would keep a longer one, PostgreSQL refuses it at the first step that stores it.
_MAX_ID, _MAX_NAME, _MAX_LANE = 100, 200, 100


def _check_lengths(root) -> list[Problem]:
    problems = []
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        limits = (("id", "标识", _MAX_ID), ("name", "名称", _MAX_LANE if local(el) == "lane" else _MAX_NAME))
        for attr, what, limit in limits:
            value = el.get(attr) or ""
            if len(value) > limit:
                element = (el.get("id") or local(el))[:40]
                problems.append(Problem(element, f"{what}过长（{len(value)} 个字符，上限 {limit}）",
                                        line=el.sourceline))
    return problems


_NOT_EXECUTABLE = ("流程未标记为可执行（isExecutable=\"true\"）：govflow 只部署可执行流程；"
                   "这类描述性模型请在建模工具中补全后勾选“可执行”")


def _check_definitions(root) -> list[Problem]:
    problems = _parameter_ids(root)
    for el in root.iter(_q("bpmn:dataStore"), _q("bpmn:dataStoreReference")):
        problems.append(Problem(el.get("id") or "(数据存储)", "govflow 不支持数据存储（dataStore）：请改用流程数据"))
    return problems


def _parameter_ids(root) -> list[Problem]:
    """SpiffWorkflow finds nodes by id across the whole file: a service parameter named like an
    element makes it misread the element ("no support for this task type")."""
    parameters = list(root.iter(_q("spiffworkflow:parameter")))
    names = {p.get("id") for p in parameters}
    clashes = {el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id") in names
               and local(el) != "parameter"}
    return [Problem(p.getparent().getparent().getparent().getparent().get("id") or p.get("id"),
                    f"服务参数“{p.get('id')}”与流程元素同名，引擎会把两者混淆：请给参数或元素改名")
            for p in parameters if p.get("id") in clashes]


def _check_process(process, process_ids: set, load_form: FormLoader) -> list[Problem]:
    problems: list[Problem] = []
    for el in process.iter():
        if not isinstance(el.tag, str):
            continue
        kind = local(el)
        check = _ELEMENT_CHECKS.get(kind)
        if check:
            problems += check(el)
        if kind in _ACTIVITIES or kind in _EVENTS:
            problems += _implicit_split(el)
        if kind == "callActivity":
            problems += _check_call(el, process_ids)
        if kind in ("subProcess", "transaction", "adHocSubProcess"):
            problems += _connections(el)
        problems += _camunda_only(el)
    problems += _connections(process)
    problems += _human_tasks(process, load_form)
    problems += _parallel_writes(process, load_form)
    return problems


def _connections(container) -> list[Problem]:
    """Every flow of this process or sub-process joins two of its elements, and every element is on
    a path: SpiffWorkflow parses only what it reaches from a start event, so a task with no flow in
    is never checked, never run, and deploys silently."""
    children = [c for c in container if isinstance(c.tag, str)]
    nodes = {c.get("id"): c for c in children if local(c) in _ACTIVITIES | _EVENTS | _GATEWAYS | {"endEvent"}}
    flows = [c for c in children if local(c) == "sequenceFlow"]
    problems, into, out_of = [], set(), set()
    for flow in flows:
        for attr, what in (("sourceRef", "起点"), ("targetRef", "终点")):
            ref = flow.get(attr)
            if ref not in nodes:
                problems.append(Problem(flow.get("id"), f"连线 {flow.get('id')} 的{what}“{ref or ''}”不是本流程中的"
                                                        "元素：请在建模工具中把连线两端都接到元素上"))
        out_of.add(flow.get("sourceRef"))
        into.add(flow.get("targetRef"))
    for node_id, node in nodes.items():
        kind = local(node)
        if node.get("triggeredByEvent") == "true" or node.get("isForCompensation") == "true":
            continue                         # started by their event (or a compensation), not by a flow
        if kind not in ("startEvent", "boundaryEvent") and node_id not in into:
            problems.append(Problem(node_id, f"{_label(node)}没有流入的连线，流程永远走不到这里：请用连线把它接入流程"))
        if kind != "endEvent" and node_id not in out_of:
            problems.append(Problem(node_id, f"{_label(node)}没有流出的连线，流程到这里就停住："
                                             "请用连线接到下一步或结束事件"))
    return problems

def _human_tasks(process, load_form: FormLoader) -> list[Problem]:
    """Lane, form, deadline and escalation of every user task, connected or not (the parsed specs
    hold only the ones reachable from a start event, so these are checked on the XML)."""
    lanes = _lanes(process)
    problems = []
    for el in process.iter(_q("bpmn:userTask"), _q("bpmn:manualTask")):
        problems += _check_lane(el, lanes.get(el.get("id")))
        problems += _check_due(el)
        problems += _check_escalation(el)
        problems += _check_form(el, load_form)
    return problems


def _lanes(process) -> dict[str, str]:
    """Element id -> lane name, the first lane naming it as SpiffWorkflow reads it (the outer of nested lanes)."""
    found: dict[str, str] = {}
    for lane in process.iter(_q("bpmn:lane")):
        for ref in lane.findall(_q("bpmn:flowNodeRef")):
            found.setdefault((ref.text or "").strip(), lane.get("name") or "")
    return found


def _check_lane(el, lane: str | None) -> list[Problem]:
    if not lane:
        return [Problem(el.get("id"), f"{_label(el)}不在任何泳道中："
                                      "请把它放进表示办理角色的泳道（如“办公室”“分管副区长”）")]
    if lane not in LANE_ROLES:
        return [Problem(el.get("id"), f"泳道“{lane}”不对应组织机构中的角色；可用的泳道名：{'、'.join(LANE_ROLES)}")]
    return []


def _check_due(el) -> list[Problem]:
    due = _property(el, DUE_PROPERTY)
    if not due:
        return []
    try:
        sandbox.check(due, "eval")
    except sandbox.ScriptRejected as err:
        return [Problem(el.get("id"), f"{_label(el)}的办理期限（{DUE_PROPERTY}）“{due[:60]}”不被允许："
                                      f"{err.reason}（应为如 workdays(3) 的表达式）")]
    return []


def _check_escalation(el) -> list[Problem]:
    to, after = _property(el, ESCALATE_TO_PROPERTY), _property(el, ESCALATE_AFTER_PROPERTY)
    if not to and not after:
        return []
    if to not in LANE_ROLES:
        return [Problem(el.get("id"), f"逾期提级（{ESCALATE_TO_PROPERTY}）须为泳道名，如“分管领导”；"
                                      f"“{to or ''}”不对应组织机构中的角色")]
    if not (after or "").isdigit() or not 1 <= int(after) <= 100:
        return [Problem(el.get("id"), f"逾期提级须设置催办次数（{ESCALATE_AFTER_PROPERTY}，1 到 100 的整数）")]
    return []


def _check_form(el, load_form: FormLoader) -> list[Problem]:
    form = _form_name(el)
    if form:
        try:
            load_form(form)
        except FormInvalid as err:
            return [Problem(el.get("id"), str(err))]
    elif local(el) == "userTask":
        return [Problem(el.get("id"), f"用户任务没有指定表单：请设置属性 {FORM_PROPERTY}（forms/ 中的文件名）")]
    return []


def _check_operator(el, operator_names: set[str]) -> list[Problem]:
    op = el.find(f".//{_q('spiffworkflow:serviceTaskOperator')}")
    name = op.get("id") if op is not None else None
    if op is None or name in operator_names:
        return []
    return [Problem(el.get("id"), f"服务任务调用的操作“{name}”未注册；可用的操作：{'、'.join(sorted(operator_names))}")]


def _check_call(el, process_ids: set) -> list[Problem]:
    called = el.get("calledElement")
    if not called:
        return [Problem(el.get("id"), "调用活动没有指定被调用的流程（calledElement）")]
    if called not in process_ids:
        return [Problem(el.get("id"), f"调用活动引用的流程 {called} 不在本文件中：请把它放进同一个文件一起部署")]
    return []


def _implicit_split(el) -> list[Problem]:
    outgoing = [s for s in el.findall(_q("bpmn:outgoing"))]
    container = el.getparent()
    flows = [f for f in container.findall(_q("bpmn:sequenceFlow")) if f.get("sourceRef") == el.get("id")]
    if max(len(outgoing), len(flows)) > 1:
        return [Problem(el.get("id"), f"{_label(el)}有多条流出连线（隐式并行分支）：请在其后加并行网关或排他网关")]
    return []


def _camunda_attrs(el) -> list[str]:
    return [k for k in el.attrib if k.startswith(f"{{{_CAMUNDA}}}")]


def _camunda_only(el) -> list[Problem]:
    attrs = _camunda_attrs(el)
    if not attrs:
        return []
    names = ", ".join("camunda:" + k.split("}")[1] for k in attrs)
    return [Problem(el.get("id") or local(el), f"Camunda 扩展属性（{names}）在 govflow 中不起作用：办理人用泳道表示，"
                                               "表单用 formJsonSchemaFilename，服务用 serviceTaskOperator",
                    severity="warning")]


def _check_timer(el) -> list[Problem]:
    problems = []
    parent = el.getparent()
    children = [c for c in el if isinstance(c.tag, str) and local(c) in ("timeDate", "timeDuration", "timeCycle")]
    if not children:
        return [Problem(parent.get("id"), "定时器没有设定时间（timeDate、timeDuration 或 timeCycle）")]
    for child in children:
        text, problem = timers.normalise(local(child), child.text)
        if problem:
            problems.append(Problem(parent.get("id"), problem))
        else:
            child.text = text
    return problems


def _check_code(el, mode: str, what: str) -> list[Problem]:
    text = (el.text or "").strip()
    owner = el.getparent()
    element_id = owner.get("id") or el.get("id") or local(owner)
    if not text:
        return [] if mode == "exec" else [Problem(element_id, f"{what}为空")]
    if "${" in text or "#{" in text:
        return [Problem(element_id, f"{what}使用了 JUEL/FEEL 语法 {text}：govflow 使用 Python 表达式，"
                                    "如 approved == True")]
    try:
        sandbox.check(text, mode)
    except sandbox.ScriptRejected as err:
        line = f"第 {err.line} 行：" if err.line and mode == "exec" else ""
        shown = f"“{text[:60]}”" if mode == "eval" else ""
        return [Problem(element_id, f"{what}{shown}不被允许：{line}{err.reason}（govflow 使用 Python 表达式）")]
    return []


def _check_condition(el) -> list[Problem]:
    return _check_code(el, "eval", "条件表达式")


def _check_script_task(el) -> list[Problem]:
    script = el.find(_q("bpmn:script"))
    if script is None or not (script.text or "").strip():
        return [Problem(el.get("id"), "脚本任务没有脚本")]
    return _check_code(script, "exec", "脚本")


def _check_spiff_script(el) -> list[Problem]:
    return _check_code(el, "exec", "前/后置脚本")


def _check_multi_instance(el) -> list[Problem]:
    problems = []
    owner = el.getparent()
    for tag, what in (("loopCardinality", "实例数表达式"), ("completionCondition", "完成条件")):
        node = el.find(_q(f"bpmn:{tag}"))
        if node is None:
            continue
        if tag == "completionCondition":
            problems.append(Problem(owner.get("id"), _COMPLETION_CONDITION))
        else:
            problems += _check_code(node, "eval", what)
    return problems


_COMPLETION_CONDITION = ("多实例的完成条件（completionCondition）只能看到最后一个实例的数据，“几分之几同意”无法判定："
                         "请去掉完成条件，在其后用服务任务 countersign.tally 判定")


def _check_exclusive(el) -> list[Problem]:
    container = el.getparent()
    flows = [f for f in container.findall(_q("bpmn:sequenceFlow")) if f.get("sourceRef") == el.get("id")]
    if len(flows) < 2:
        return []
    default = el.get("default")
    return [Problem(f.get("id"), f"{_label(el)}的分支 {f.get('id')} 没有条件，也不是默认分支："
                                 "请写条件表达式或设为默认分支")
            for f in flows if f.get("id") != default and f.find(_q("bpmn:conditionExpression")) is None]


def _check_event_reference(attr: str, what: str):
    def check(el) -> list[Problem]:
        if el.get(attr):
            return []
        return [Problem(el.getparent().get("id"),
                        f"{what}事件没有引用{what}定义（{attr}）：请在建模工具中为它选择一个{what}")]
    return check


def _check_message(el) -> list[Problem]:
    return [Problem(el.getparent().get("id") or el.get("id"),
                    "govflow 暂不支持消息事件（外部消息无法送达流程）：请改用用户任务或信号")]


def _check_receive(el) -> list[Problem]:
    return [Problem(el.get("id"), "govflow 暂不支持接收任务（外部消息无法送达流程）：请改用用户任务")]


def _check_business_rule(el) -> list[Problem]:
    return [Problem(el.get("id"), "govflow 不运行 DMN 业务规则任务：规则检查请用服务任务调用已注册的规则操作")]


def _check_subprocess(el) -> list[Problem]:
    if el.get("triggeredByEvent") == "true":
        return []
    starts = [c for c in el if isinstance(c.tag, str) and local(c) == "startEvent"]
    if not starts:
        return [Problem(el.get("id"), f"{_label(el)}没有开始事件")]
    return []


def _check_service(el) -> list[Problem]:
    if el.find(f".//{_q('spiffworkflow:serviceTaskOperator')}") is not None:
        return _check_operator(el, set(operators.registry()))
    hint = "（Camunda 的 class/expression/delegate 在 govflow 中不起作用）" if _camunda_attrs(el) else ""
    return [Problem(el.get("id"), f"服务任务没有指定要调用的操作{hint}：请用 spiffworkflow:serviceTaskOperator 指定"
                                  "已注册的规则操作")]


def _check_complex(el) -> list[Problem]:
    return [Problem(el.get("id"), "govflow 不支持复杂网关（complexGateway）：请改用排他或并行网关")]


_ELEMENT_CHECKS = {
    "timerEventDefinition": _check_timer,
    "conditionExpression": _check_condition,
    "scriptTask": _check_script_task,
    "preScript": _check_spiff_script,
    "postScript": _check_spiff_script,
    "multiInstanceLoopCharacteristics": _check_multi_instance,
    "exclusiveGateway": _check_exclusive,
    "inclusiveGateway": _check_exclusive,
    "errorEventDefinition": _check_event_reference("errorRef", "错误"),
    "escalationEventDefinition": _check_event_reference("escalationRef", "升级"),
    "messageEventDefinition": _check_message,
    "receiveTask": _check_receive,
    "businessRuleTask": _check_business_rule,
    "subProcess": _check_subprocess,
    "transaction": _check_subprocess,
    "complexGateway": _check_complex,
    "serviceTask": _check_service,
}


# -- trap 3: parallel branches writing the same key ------------------------------------------------------
def _parallel_writes(process, load_form: FormLoader) -> list[Problem]:
    """At a parallel join SpiffWorkflow keeps the last writer of each key: a 会签 veto written to
    the same key as another branch's consent silently disappears. Each branch must write its own."""
    nodes = {el.get("id"): el for el in process if isinstance(el.tag, str) and el.get("id")}
    flows = [el for el in process if isinstance(el.tag, str) and local(el) == "sequenceFlow"]
    successors: dict[str, list[str]] = {}
    incoming: dict[str, int] = {}
    for flow in flows:
        successors.setdefault(flow.get("sourceRef"), []).append(flow.get("targetRef"))
        incoming[flow.get("targetRef")] = incoming.get(flow.get("targetRef"), 0) + 1
    problems = []
    for split in nodes.values():
        starts = successors.get(split.get("id"), [])
        if local(split) not in ("parallelGateway", "inclusiveGateway") or len(starts) < 2:
            continue
        branches = [_branch(start, successors, nodes, incoming) for start in starts]
        writers: dict[str, tuple[int, str]] = {}
        for index, branch in enumerate(branches):
            for node_id in sorted(branch):
                for key in sorted(_writes(nodes[node_id], load_form)):
                    first = writers.setdefault(key, (index, node_id))
                    if first[0] != index and node_id not in branches[first[0]]:
                        problems.append(Problem(node_id, f"并行分支中的 {node_id} 与 {first[1]} 都写入“{key}”，"
                                                         "汇合时只保留最后写入的值（会签意见会被覆盖）："
                                                         "请让每个分支写入各自的变量（如 variableName）"))
    return problems


def _branch(start: str, successors, nodes, incoming) -> set[str]:
    seen, stack, found = set(), [start], set()
    while stack:
        node_id = stack.pop()
        if node_id in seen or node_id not in nodes:
            continue
        seen.add(node_id)
        node = nodes[node_id]
        if local(node) in _GATEWAYS and incoming.get(node_id, 0) > 1:
            continue    # a join ends the branch
        found.add(node_id)
        stack.extend(successors.get(node_id, []))
    return found


def _writes(el, load_form: FormLoader) -> set[str]:
    kind = local(el)
    if kind in ("userTask", "manualTask"):
        variable = el.find(f".//{_q('spiffworkflow:variableName')}")
        if variable is not None and (variable.text or "").strip():
            return {variable.text.strip()}
        form = _form_name(el)
        if form:
            try:
                return set(load_form(form).get("properties", {}))
            except FormInvalid:
                return set()
    if kind == "scriptTask":
        script = el.find(_q("bpmn:script"))
        return _assigned_names(script.text if script is not None else "")
    if kind == "serviceTask":
        op = el.find(f".//{_q('spiffworkflow:serviceTaskOperator')}")
        if op is not None and op.get("resultVariable"):
            return {op.get("resultVariable")}
    return set()


def _assigned_names(script: str | None) -> set[str]:
    try:
        tree = ast.parse(script or "")
    except SyntaxError:
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}


def _form_name(el) -> str | None:
    return _property(el, FORM_PROPERTY)


def _property(el, name: str) -> str | None:
    for prop in el.iter(_q("spiffworkflow:property")):
        if prop.get("name") == name:
            return prop.get("value")
    return None


# -- pass 2: the parsed specs ------------------------------------------------------------------------------
def check_specs(specs: list, load_form: FormLoader) -> tuple[list[Problem], set[str]]:
    """What needs SpiffWorkflow's parsed specs (the same objects the engine runs): start forms and
    会签 collections. Returns problems and the names of the forms used."""
    problems, used_forms = [], set()
    for spec in specs:
        problems += _check_start_form(spec, load_form, used_forms)
        for task_spec in spec.task_specs.values():
            form = task_spec.extensions.get("properties", {}).get(FORM_PROPERTY) \
                if isinstance(task_spec, (UserTask, ManualTask)) else None
            if form and _loads(load_form, form):
                used_forms.add(form)
            if isinstance(task_spec, ParallelMultiInstanceTask):
                problems += _check_parallel_collection(task_spec, spec)
    return problems, used_forms


def _loads(load_form: FormLoader, name: str) -> bool:
    try:
        load_form(name)
        return True
    except FormInvalid:
        return False


def _check_start_form(spec, load_form: FormLoader, used_forms: set) -> list[Problem]:
    form = start_form(spec)
    if not form:
        return []
    try:
        load_form(form)
        used_forms.add(form)
    except FormInvalid as err:
        return [Problem(spec.name, str(err))]
    return []


def _check_parallel_collection(mi_spec, spec) -> list[Problem]:
    child = spec.task_specs.get(mi_spec.task_spec)
    if not isinstance(child, (UserTask, ManualTask)):
        return []
    output = mi_spec.data_output
    item = mi_spec.output_item
    if output is None or item is None:
        return [Problem(mi_spec.bpmn_id, "并行多实例（会签）须设置输出集合与输出项（loopDataOutputRef / "
                                         "outputDataItem），否则各实例的意见只保留最后一个")]
    variable = getattr(child, "variable", None)
    if variable != item.bpmn_id:
        return [Problem(mi_spec.bpmn_id,
                        f"会签表单须写入输出项“{item.bpmn_id}”：请把 variableName 设为 {item.bpmn_id}")]
    return []
