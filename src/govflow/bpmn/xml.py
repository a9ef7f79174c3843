"""Reading BPMN files safely: no DTD, no entity expansion, no external references, no network,
a size limit; then the BPMN 2.0 XSD (the schema files SpiffWorkflow ships)."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import SpiffWorkflow
from lxml import etree

from .problems import Problem

MAX_BYTES = 5 * 1024 * 1024
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
XSD = Path(SpiffWorkflow.__file__).parent / "bpmn" / "parser" / "schema" / "BPMN20.xsd"
_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)


class Unreadable(Exception):
    def __init__(self, problem: Problem):
        super().__init__(problem.reason)
        self.problem = problem


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_blank_text=False)


def read(content: bytes) -> etree._ElementTree:
    """Parse ``content`` or raise Unreadable with a reason a designer can act on."""
    if len(content) > MAX_BYTES:
        size, limit = len(content) // 1024, MAX_BYTES // 1024 // 1024
        raise Unreadable(Problem("(文件)", f"文件过大（{size} KB，上限 {limit} MB）"))
    if _DOCTYPE.search(content[:65536]) or _DOCTYPE.search(content.replace(b"\x00", b"")[:131072]):
        raise Unreadable(Problem("(文件)", "不接受 DOCTYPE 或实体声明（可能是 XML 外部实体或实体膨胀攻击）"))
    try:
        tree = etree.ElementTree(etree.fromstring(content, _parser()))
    except etree.XMLSyntaxError as err:
        raise Unreadable(Problem("(文件)", f"不是合法的 XML：第 {err.lineno} 行：{err.msg}")) from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise Unreadable(Problem("(文件)", "不接受 DOCTYPE 或实体声明"))
    root = tree.getroot()
    if root.tag != f"{{{NS['bpmn']}}}definitions":
        raise Unreadable(Problem("(文件)", "根元素不是 BPMN 2.0 的 definitions（命名空间须为 "
                                         f"{NS['bpmn']}）"))
    return tree


@lru_cache(maxsize=1)
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD), _parser()))


def xsd_problems(tree: etree._ElementTree) -> list[Problem]:
    schema = _schema()
    if schema.validate(tree):
        return []
    by_line = {el.sourceline: el for el in tree.iter() if isinstance(el.tag, str)}
    problems = []
    for error in schema.error_log:
        element = by_line.get(error.line)
        element_id = element.get("id") if element is not None and element.get("id") else f"(第 {error.line} 行)"
        problems.append(Problem(element_id, f"不符合 BPMN 2.0 XSD：{_short(error.message)}", line=error.line))
    return problems


def _short(message: str) -> str:
    return re.sub(r"\{http://www\.omg\.org/spec/BPMN/20100524/MODEL\}", "bpmn:", message)


def local(element) -> str:
    return etree.QName(element).localname


def to_bytes(tree: etree._ElementTree) -> bytes:
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")
