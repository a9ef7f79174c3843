"""Task forms: JSON Schema documents in ``forms/``, named by a user task's
``formJsonSchemaFilename`` property, stored with the definition version that uses them, and
checked with messages in Chinese, one per field."""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import re2
from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import SchemaError, ValidationError
from referencing import Registry
from referencing.exceptions import NoSuchResource

from ..errors import ValidationFailed
from .data import check_data

FORM_PROPERTY = "formJsonSchemaFilename"
DUE_PROPERTY = "dueDate"      # a user task property: an expression for the step's deadline, e.g. workdays(3)
# 催办 that goes on: after this many presses of an overdue task, the lane named escalates it
ESCALATE_TO_PROPERTY, ESCALATE_AFTER_PROPERTY = "escalateTo", "escalateAfterPresses"
_TYPES = {"string": "文本", "integer": "整数", "number": "数字", "boolean": "是/否", "array": "列表",
          "object": "对象", "null": "空"}


class FormInvalid(Exception):
    pass


def load(forms_dir: Path, name: str) -> tuple[str, dict]:
    """The form's text and schema, after checking it is a JSON Schema. Raises FormInvalid."""
    if "/" in name or "\\" in name or name.startswith("."):
        raise FormInvalid(f"表单文件名“{name}”不合法")
    path = forms_dir / name
    if not path.is_file():
        raise FormInvalid(f"表单 {name} 不存在于 forms/ 目录")
    text = path.read_text(encoding="utf-8")
    return text, check_schema_text(text, name)


MAX_FORM_BYTES = 1024 * 1024     # a form is a few kilobytes; a request body may be 8 MB
MAX_FORM_DEPTH = 64
_REFERENCES = ("$ref", "$dynamicRef", "$recursiveRef")

# The json module's words (json/decoder.py, json/scanner.py), said for designers
_JSON_MESSAGES = {
    "Expecting value": "缺少值（或多了逗号）",
    "Expecting ',' delimiter": "缺少逗号“,”",
    "Expecting ':' delimiter": "缺少冒号“:”",
    "Expecting property name enclosed in double quotes": "字段名须用英文双引号括起（或最后一项后多了逗号）",
    "Unterminated string starting at": "字符串缺少结束的双引号",
    "Invalid control character at": "字符串中有换行或制表符：请写成 \\n 或 \\t",
    "Invalid \\escape": "反斜杠转义写法有误",
    "Invalid \\uXXXX escape": "\\u 转义须为四位十六进制数",
    "Extra data": "JSON 结束后还有多余的内容",
}


def check_schema_text(text: str, name: str) -> dict:
    if len(text.encode("utf-8")) > MAX_FORM_BYTES:
        raise FormInvalid(f"表单 {name} 过大（上限 {MAX_FORM_BYTES // 1024} KB）")
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as err:
        raise FormInvalid(f"表单 {name} 不是合法的 JSON：第 {err.lineno} 行第 {err.colno} 列"
                          f"：{_JSON_MESSAGES.get(err.msg, '写法有误')}") from None
    except RecursionError:
        raise FormInvalid(f"表单 {name} 的 JSON 嵌套层数过深") from None
    _check_nodes(schema, name)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as err:
        where = "/".join(str(part) for part in err.absolute_path) or "顶层"
        shown = json.dumps(err.instance, ensure_ascii=False)[:60]
        hint = "（type 只能是 string、number、integer、boolean、object、array）" if where.endswith("type") else ""
        raise FormInvalid(f"表单 {name} 不是合法的 JSON Schema：{where} 的值 {shown} 不符合 JSON Schema 的写法"
                          f"{hint}") from None
    if schema.get("type") != "object":
        raise FormInvalid(f"表单 {name} 的顶层 type 须为 object")
    return schema


def _check_nodes(schema, name: str) -> None:
    """Nesting, references and patterns, walked without recursion: a reference may only point into
    the form itself (``#/…``: a form must never make the server fetch a URL or read a file), and a
    pattern must compile on the linear-time engine (no backreferences or lookarounds)."""
    pending = [(schema, ())]
    while pending:
        node, path = pending.pop()
        if len(path) > MAX_FORM_DEPTH:
            raise FormInvalid(f"表单 {name} 嵌套层数过深（上限 {MAX_FORM_DEPTH}）")
        if isinstance(node, list):
            pending.extend((item, (*path, str(i))) for i, item in enumerate(node))
            continue
        if not isinstance(node, dict):
            continue
        for key in _REFERENCES:
            target = node.get(key)
            if isinstance(target, str) and not (target == "#" or target.startswith("#/")):
                raise FormInvalid(f"表单 {name} 的字段“{_field(path)}”引用了外部定义 {target[:80]}："
                                  "只允许引用本表单内的定义（#/…）")
        if "$id" in node:
            raise FormInvalid(f"表单 {name} 的字段“{_field(path)}”不得使用 $id（会改变引用的基准地址）")
        if isinstance(node.get("pattern"), str):
            _compiled(node["pattern"], name, _field(path))
        if isinstance(node.get("patternProperties"), dict):
            for pattern in node["patternProperties"]:
                _compiled(pattern, name, _field(path))
        pending.extend((value, (*path, str(key))) for key, value in node.items())


def _field(path: tuple) -> str:
    """The data field a schema path is about: the names under ``properties``."""
    names = [path[i + 1] for i in range(len(path) - 1) if path[i] == "properties"]
    return ".".join(names) or "(表单)"


_RE2 = re2.Options()
_RE2.log_errors = False
_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


@lru_cache(maxsize=1024)
def _compiled(pattern: str, name: str = "", field: str = ""):
    """A form's pattern on RE2, whose matching time is linear in the text (``^(a+)+$`` never
    backtracks); ECMA-262's ``\\uXXXX`` is RE2's ``\\x{XXXX}``."""
    try:
        return re2.compile(_UNICODE_ESCAPE.sub(r"\\x{\1}", pattern), options=_RE2)
    except re2.error:
        raise FormInvalid(f"表单 {name} 的字段“{field}”的 pattern 不受支持（不得使用反向引用、环视等）："
                          f"{pattern[:80]}") from None


def _pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not _compiled(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator, patterns, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        compiled = _compiled(pattern)
        for key, value in instance.items():
            if compiled.search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


_FormValidator = validators.extend(Draft202012Validator, {"pattern": _pattern,
                                                          "patternProperties": _pattern_properties})


def _no_retrieval(uri: str):
    raise NoSuchResource(ref=uri)    # a form deployed before references were checked: still never fetched


def validator(schema: dict) -> Draft202012Validator:
    """Built once per form (with its definition) and reused for every submission."""
    return _FormValidator(schema, format_checker=FormatChecker(), registry=Registry(retrieve=_no_retrieval))


def validate(checker: Draft202012Validator, data, what: str = "表单") -> None:
    """Raise ValidationFailed listing every field that does not fit, not only the first."""
    if not isinstance(data, dict):
        raise ValidationFailed(f"{what}数据须为 JSON 对象", [{"field": "data", "reason": "须为 JSON 对象"}])
    check_data(data, where=f"{what}数据")
    try:
        errors = sorted(checker.iter_errors(data), key=lambda e: list(e.absolute_path))
    except Exception as err:  # noqa: BLE001 - an unresolvable reference or pattern: never echo what came back
        raise ValidationFailed(f"{what}的定义无法使用（{type(err).__name__}），请联系流程设计人员",
                               [{"field": "form", "reason": "表单定义无法使用"}]) from None
    if errors:
        details = [_detail(checker.schema, e) for e in errors]
        raise ValidationFailed(f"{what}填写有误：" + "；".join(d["reason"] for d in details[:5]), details)


def _detail(schema: dict, error) -> dict:
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        path.append(missing)
    field = ".".join(path) or "data"
    label = _title(schema, path) or field
    return {"field": field, "reason": _reason(error, label)}


def _title(schema: dict, path: list[str]) -> str:
    node = schema
    for part in path:
        if isinstance(node, dict) and part in node.get("properties", {}):
            node = node["properties"][part]
        elif isinstance(node, dict) and "items" in node and part.isdigit():
            node = node["items"]
        else:
            return ""
    return node.get("title", "") if isinstance(node, dict) else ""


def _reason(error, label: str) -> str:
    v, expected = error.validator, error.validator_value
    if v == "required":
        return f"“{label}”为必填项"
    if v == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        return f"“{label}”应为{'或'.join(_TYPES.get(k, k) for k in kinds)}"
    if v == "enum":
        return f"“{label}”须为以下之一：{'、'.join(map(str, expected))}"
    if v == "const":
        return f"须勾选“{label}”" if expected is True else f"“{label}”须为 {expected}"
    if v == "maxLength":
        return f"“{label}”最多 {expected} 个字"
    if v == "minLength":
        return f"“{label}”至少 {expected} 个字" if expected > 1 else f"“{label}”不能为空"
    if v in ("minimum", "exclusiveMinimum"):
        return f"“{label}”不能小于{'或等于' if v.startswith('exclusive') else ''} {expected}"
    if v in ("maximum", "exclusiveMaximum"):
        return f"“{label}”不能大于{'或等于' if v.startswith('exclusive') else ''} {expected}"
    if v == "minItems":
        return f"“{label}”至少选择 {expected} 项"
    if v == "maxItems":
        return f"“{label}”最多选择 {expected} 项"
    if v == "uniqueItems":
        return f"“{label}”中有重复项"
    if v == "format":
        return f"“{label}”格式应为 {_FORMATS.get(expected, expected)}"
    if v == "pattern":
        return f"“{label}”格式不正确"
    if v == "additionalProperties":
        extra = error.message.split("'")[1] if "'" in error.message else ""
        return f"表单没有“{extra}”这一项"
    return f"“{label}”不符合要求"


_FORMATS = {"date": "日期（如 2026-11-23）", "date-time": "日期时间（如 2026-11-23T09:00:00+08:00）",
            "email": "电子邮箱"}
