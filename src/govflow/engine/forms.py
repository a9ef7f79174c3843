"""Task forms: JSON Schema documents in ``forms/``, named by a user task's
``formJsonSchemaFilename`` property, stored with the definition version that uses them, and
checked with messages in Chinese, one per field."""
from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

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
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as err:
        raise FormInvalid(f"表单 {name} 不是合法的 JSON：第 {err.lineno} 行第 {err.colno} 列"
                          f"：{_JSON_MESSAGES.get(err.msg, '写法有误')}") from None
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


def validator(schema: dict) -> Draft202012Validator:
    """Built once per form (with its definition) and reused for every submission."""
    return Draft202012Validator(schema, format_checker=FormatChecker())


def validate(checker: Draft202012Validator, data, what: str = "表单") -> None:
    """Raise ValidationFailed listing every field that does not fit, not only the first."""
    if not isinstance(data, dict):
        raise ValidationFailed(f"{what}数据须为 JSON 对象", [{"field": "data", "reason": "须为 JSON 对象"}])
    check_data(data, where=f"{what}数据")
    errors = sorted(checker.iter_errors(data), key=lambda e: list(e.absolute_path))
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
