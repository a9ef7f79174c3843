"""Task forms in the browser: HTML fields rendered from a form's JSON Schema (``forms/``), and the
posted fields read back into the JSON the schema describes. Checking stays with the schema
(``forms.validate``): its Chinese messages name a field path, and the page shows each message
next to that field.

A field whose schema says ``"format": "department"`` (or ``person``) is a choice among the
organisation's departments (people); ``enumNames`` labels enum codes.

Field names are dotted paths under a prefix: ``f.decisions.0.task`` is the ``task`` of the first
row of ``decisions``. What a person leaves empty is left out, so that "required" says so in words.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import g, render_template
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from ..time.timeutil import SHANGHAI, parse_moment

LONG_TEXT = 200           # longer strings get a text area
RADIO_AT_MOST = 4         # short choices (同意/不同意) as radio buttons, longer ones as a list
ORG_FORMATS = ("department", "person")     # a field naming a department or a person: chosen, not typed


@dataclass
class Field:
    name: str                     # the input's name
    path: str                     # the field path the validator reports
    label: str
    kind: str                     # text, textarea, date, datetime, number, choice, radio, boolean,
    #                               checks, lines, group, rows
    required: bool = False
    schema: dict = field(default_factory=dict)
    value: object = None
    error: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)   # (value, what people read)
    children: list[Field] = field(default_factory=list)      # a group's fields
    rows: list[list[Field]] = field(default_factory=list)    # a table's rows, and its blank row last


def render(schema: dict, data: dict | None = None, errors: dict[str, str] | None = None, prefix: str = "f.") -> Markup:
    """The form's fields as HTML, filled with ``data``, with ``errors`` (field path → message)
    beside their fields; messages for paths no field shows are listed on top."""
    fields = _fields(schema, data or {}, errors or {}, prefix, "")
    shown = {f.path for f in _walk(fields)}
    loose = [m for path, m in (errors or {}).items() if path not in shown]
    return Markup(render_template("schema_form.html", fields=fields, loose=loose, title=schema.get("title", "")))


def _walk(fields: list[Field]):
    for f in fields:
        yield f
        yield from _walk(f.children)
        for row in f.rows:
            yield from _walk(row)


def _fields(schema: dict, data: dict, errors: dict, prefix: str, path: str) -> list[Field]:
    required = set(schema.get("required", []))
    return [_field(name, sub, data.get(name, sub.get("default")), name in required, errors, prefix,
                   f"{path}{name}") for name, sub in _properties(schema).items()]


def _properties(schema: dict) -> dict[str, dict]:
    """A schema's properties; one given as ``true`` (anything goes) is a text field."""
    return {name: sub if isinstance(sub, dict) else {} for name, sub in schema.get("properties", {}).items()}


def _items(schema: dict) -> dict:
    items = schema.get("items", {})
    return items if isinstance(items, dict) else {}


def _field(name: str, schema: dict, value, required: bool, errors: dict, prefix: str, path: str) -> Field:
    made = Field(name=prefix + path, path=path, label=schema.get("title") or name, kind=_kind(schema),
                 required=required, schema=schema, value=value, error=errors.get(path, ""),
                 options=_options(_items(schema) if schema.get("type") == "array" else schema))
    if made.kind == "group":
        made.children = _fields(schema, value if isinstance(value, dict) else {}, errors, prefix, path + ".")
    elif made.kind == "rows":
        items = (value if isinstance(value, list) else []) or [{}]     # a blank row to start with
        made.rows = [_fields(_items(schema), item if isinstance(item, dict) else {}, errors, prefix,
                             f"{path}.{i}.") for i, item in enumerate(items)]
        made.rows.append(_fields(_items(schema), {}, {}, prefix, f"{path}.{len(items)}."))   # the template
    elif made.kind == "datetime" and isinstance(value, str):
        made.value = _local_input(value)
    return made


def _options(schema: dict) -> list[tuple[str, str]]:
    """The values a field may take, labelled: an enum (with ``enumNames`` where codes are not words),
    or the organisation's departments or people (``format`` department / person)."""
    if "enum" in schema:
        return list(zip(schema["enum"], schema.get("enumNames") or schema["enum"], strict=False))
    org = g.get("org")
    if org is None or schema.get("format") not in ORG_FORMATS:
        return []
    if schema["format"] == "department":
        return [(d.id, d.name) for d in org.departments.values()]
    return [(p.id, f"{p.name}（{org.departments[p.department].name}）" if p.department in org.departments else p.name)
            for p in org.people.values()]


def _kind(schema: dict) -> str:
    kind = schema.get("type")
    if kind == "object":
        return "group"
    if kind == "array":
        items = _items(schema)
        if items.get("type") == "object":
            return "rows"
        if items.get("format") in ORG_FORMATS:
            return "many"
        return "checks" if "enum" in items else "lines"
    if "enum" in schema:
        return "radio" if len(schema["enum"]) <= RADIO_AT_MOST else "choice"
    if schema.get("format") in ORG_FORMATS:
        return "choice"
    if kind in ("integer", "number"):
        return "number"
    if kind == "boolean":
        return "boolean"
    if schema.get("format") == "date":
        return "date"
    if schema.get("format") == "date-time":
        return "datetime"
    return "textarea" if schema.get("maxLength", 0) > LONG_TEXT else "text"


# -- reading what was posted ---------------------------------------------------------------------------------------
def read(schema: dict, posted: MultiDict, prefix: str = "f.") -> dict:
    """The JSON object the posted fields stand for, typed per the schema. A value that does not
    fit its type is kept as text, so that the validator names it."""
    return _read_object(schema, posted, prefix)


def _read_object(schema: dict, posted: MultiDict, prefix: str) -> dict:
    result = {}
    for name, sub in _properties(schema).items():
        value = _read(sub, posted, prefix + name)
        if value is not None:
            result[name] = value
    return result


def _read(schema: dict, posted: MultiDict, name: str):
    kind = _kind(schema)
    if kind == "group":
        return _read_object(schema, posted, name + ".") or None
    if kind == "rows":
        # An unticked box in a row says nothing: a row of unticked boxes is the blank row left over.
        rows = [{k: v for k, v in _read_object(_items(schema), posted, f"{name}.{i}.").items() if v is not False}
                for i in _row_indices(posted, name)]
        return [row for row in rows if row] or None
    if kind in ("checks", "many"):
        return [v for v in posted.getlist(name) if v] or None
    if kind == "lines":
        return [line.strip() for line in posted.get(name, "").splitlines() if line.strip()] or None
    if kind == "boolean":
        return name in posted
    raw = posted.get(name, "").strip()
    if not raw:
        return None
    if kind == "number":
        return _number(raw, schema.get("type"))
    if kind == "datetime":
        return _moment(raw)
    return raw


def _row_indices(posted: MultiDict, name: str) -> list[int]:
    """Rows as the page numbered them (a row removed in the browser leaves a gap)."""
    start = name + "."
    return sorted({int(key[len(start):].split(".", 1)[0]) for key in posted
                   if key.startswith(start) and key[len(start):].split(".", 1)[0].isdigit()})


def _number(raw: str, kind: str | None):
    try:
        return int(raw) if kind == "integer" else float(raw)
    except ValueError:
        return raw


def _moment(raw: str) -> str:
    """A datetime-local input (2026-11-23T09:00) as Beijing time with its offset."""
    try:
        return parse_moment(raw).isoformat(timespec="seconds")
    except ValueError:
        return raw


def _local_input(value: str) -> str:
    try:
        return parse_moment(value).astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")
    except ValueError:
        return value


FIX_FIELDS = "表单填写有误，请按各项下方的红字修改后再提交。"


def refusal(schema: dict, data: dict, details: list[dict], message: str) -> tuple[dict[str, str], str]:
    """A ValidationFailed as the page shows it: each message beside the field it names, and the
    service's own words on top when a message concerns no field of this form (a lane nobody holds,
    a record the step could not find)."""
    errors = error_map(details)
    shown = {f.path for f in _walk(_fields(schema, data, {}, "f.", ""))}
    if all(path in shown for path in errors):
        return errors, FIX_FIELDS
    return {path: m for path, m in errors.items() if path in shown}, message


def error_map(details: list[dict]) -> dict[str, str]:
    """ValidationFailed details (field, reason) as field path → message (several joined)."""
    errors: dict[str, str] = {}
    for detail in details:
        path = detail.get("field", "")
        errors[path] = "；".join(filter(None, (errors.get(path), detail.get("reason", ""))))
    return errors
