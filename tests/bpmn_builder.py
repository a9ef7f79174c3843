"""Small BPMN diagrams for tests, written as the elements they are made of."""
from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
        'id="defs" targetNamespace="http://govflow.cn/test">\n')


def diagram(process_id: str, *elements: str, lanes: dict[str, list[str]] | None = None,
            name: str = "测试流程", executable: bool = True) -> bytes:
    lane_xml = ""
    if lanes:
        lane_xml = '<bpmn:laneSet id="lanes">' + "".join(
            f'<bpmn:lane id="lane_{i}" name={quoteattr(lane)}>'
            + "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in nodes) + "</bpmn:lane>"
            for i, (lane, nodes) in enumerate(lanes.items())) + "</bpmn:laneSet>"
    body = "\n".join(elements)
    return (HEAD + f'<bpmn:process id="{process_id}" name={quoteattr(name)} '
            f'isExecutable="{"true" if executable else "false"}">{lane_xml}\n{body}\n</bpmn:process>\n'
            "</bpmn:definitions>\n").encode("utf-8")


def _ext(*parts: str) -> str:
    inner = "".join(p for p in parts if p)
    return f"<bpmn:extensionElements>{inner}</bpmn:extensionElements>" if inner else ""


def _form(form: str | None) -> str:
    if not form:
        return ""
    return ('<spiffworkflow:properties><spiffworkflow:property name="formJsonSchemaFilename" '
            f'value={quoteattr(form)}/></spiffworkflow:properties>')


def start(id_: str = "start", form: str | None = None) -> str:
    return f'<bpmn:startEvent id="{id_}">{_ext(_form(form))}</bpmn:startEvent>'


def end(id_: str = "end") -> str:
    return f'<bpmn:endEvent id="{id_}"/>'


def user(id_: str, name: str | None = None, form: str | None = "countersign.json", variable: str | None = None,
         multi: str = "") -> str:
    var = f"<spiffworkflow:variableName>{variable}</spiffworkflow:variableName>" if variable else ""
    return (f'<bpmn:userTask id="{id_}" name={quoteattr(name or id_)}>{_ext(var, _form(form))}{multi}'
            "</bpmn:userTask>")


def parallel_multi(collection: str, item: str, output: str, output_item: str, condition: str = "") -> str:
    cond = f"<bpmn:completionCondition>{escape(condition)}</bpmn:completionCondition>" if condition else ""
    return ("<bpmn:multiInstanceLoopCharacteristics>"
            f"<bpmn:loopDataInputRef>{collection}</bpmn:loopDataInputRef>"
            f"<bpmn:loopDataOutputRef>{output}</bpmn:loopDataOutputRef>"
            f'<bpmn:inputDataItem id="{item}" name="{item}"/><bpmn:outputDataItem id="{output_item}" '
            f'name="{output_item}"/>{cond}</bpmn:multiInstanceLoopCharacteristics>')


def service(id_: str, operator: str, params: dict[str, str] | None = None, result: str | None = None) -> str:
    params_xml = "".join(f'<spiffworkflow:parameter id="{k}" type="any" value={quoteattr(v)}/>'
                         for k, v in (params or {}).items())
    result_attr = f' resultVariable="{result}"' if result else ""
    op = (f"<spiffworkflow:serviceTaskOperator id={quoteattr(operator)}{result_attr}>"
          f"<spiffworkflow:parameters>{params_xml}</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator>")
    return f'<bpmn:serviceTask id="{id_}">{_ext(op)}</bpmn:serviceTask>'


def script(id_: str, code: str) -> str:
    return f'<bpmn:scriptTask id="{id_}"><bpmn:script>{escape(code)}</bpmn:script></bpmn:scriptTask>'


def xgw(id_: str, default: str | None = None) -> str:
    return f'<bpmn:exclusiveGateway id="{id_}"' + (f' default="{default}"' if default else "") + "/>"


def pgw(id_: str) -> str:
    return f'<bpmn:parallelGateway id="{id_}"/>'


def flow(id_: str, source: str, target: str, condition: str | None = None) -> str:
    cond = f"<bpmn:conditionExpression>{escape(condition)}</bpmn:conditionExpression>" if condition else ""
    return f'<bpmn:sequenceFlow id="{id_}" sourceRef="{source}" targetRef="{target}">{cond}</bpmn:sequenceFlow>'


def chain(*ids: str) -> str:
    return "\n".join(flow(f"f_{a}_{b}", a, b) for a, b in zip(ids, ids[1:], strict=False))


def boundary_timer(id_: str, attached: str, expression: str, kind: str = "timeDate", cancel: bool = False) -> str:
    return (f'<bpmn:boundaryEvent id="{id_}" attachedToRef="{attached}" cancelActivity="{str(cancel).lower()}">'
            f"<bpmn:timerEventDefinition><bpmn:{kind}>{escape(expression)}</bpmn:{kind}>"
            "</bpmn:timerEventDefinition></bpmn:boundaryEvent>")
