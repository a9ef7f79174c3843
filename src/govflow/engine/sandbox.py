"""The gate in front of every script and expression a deployed diagram carries.

SpiffWorkflow runs diagram code with plain ``eval``/``exec`` (SPIFFWORKFLOW-NOTES trap 10): removing
``__builtins__`` stops ``import`` but ``().__class__.__base__.__subclasses__()`` still escapes. Designers
upload diagrams, so every piece of code is

1. parsed and checked statically: no imports, no dunder or private names or attributes, no
   ``try``/``with``/``class``/``global``/async, no attribute assignment;
2. rewritten so that attribute reads go through ``_getattr_`` (an allowlist per type) and whatever
   builds a value is charged *before* it is built against a per-run budget of elements: the operators
   that allocate (``*``, ``**``, ``+``, ``<<``, ``%``), ``range``, f-strings, ``join``, and every
   reference put into a container (literals, comprehensions, ``append``, ``d[k] = v``, ``[a] * n``),
   each shared reference counted at each use — what a copy or a snapshot of the result would hold;
3. run with a whitelist of builtins under a bound on opcodes enforced by a trace function.

Scripts run in a worker process (``script_workers``) under an operating-system memory limit and a
wall-clock timeout, in case something the budget does not see gets through; expressions (conditions,
deadlines), which hold no statements, run here under the same budgets, and the trace function
stops them at the same wall-clock limit.
"""
from __future__ import annotations

import ast
import builtins
import gc
import math
import re
import sys
import time
from dataclasses import dataclass
from functools import lru_cache

# Opcodes one script or expression may run (an endless loop stops within about a second). A bound on
# work, not on time: a loaded machine or a garbage collection of a large heap never trips it, and a
# re-execution of a history meets the same bound as the original run.
MAX_STEPS = 1_000_000
MAX_LENGTH = 100_000         # largest string/list one operation may build
MAX_BUDGET = 5_000_000       # elements all operations of one run may build together
MAX_INT_BITS = 4_096
MAX_NESTING = 100            # containers inside containers a charged value may have


class ScriptRejected(Exception):
    """The code breaks a rule of the gate; ``reason`` says which, in Chinese."""

    def __init__(self, reason: str, line: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.line = line


class ScriptLimitExceeded(BaseException):
    """Raised inside a running script. A BaseException, so that no script code can swallow it
    (``try`` is rejected anyway); it leaves the sandbox as ScriptFailed."""


class ScriptFailed(Exception):
    """A script or expression hit a limit of the gate (time, size, a refused attribute)."""


class OutOfMemory(ScriptFailed):
    """Memory ran out while a script ran (``script_workers``' operating-system limit)."""


_FORBIDDEN_NODES = {
    ast.Import: "不允许 import",
    ast.ImportFrom: "不允许 import",
    ast.Try: "不允许 try/except",
    ast.With: "不允许 with",
    ast.ClassDef: "不允许定义类",
    ast.Global: "不允许 global",
    ast.Nonlocal: "不允许 nonlocal",
    ast.AsyncFunctionDef: "不允许异步代码",
    ast.AsyncFor: "不允许异步代码",
    ast.AsyncWith: "不允许异步代码",
    ast.Await: "不允许异步代码",
    ast.Yield: "不允许 yield",
    ast.YieldFrom: "不允许 yield",
    ast.Raise: "不允许 raise",
    ast.Assert: "不允许 assert",
    ast.Match: "不允许 match（其模式可绕过属性检查）",
}
if hasattr(ast, "TryStar"):
    _FORBIDDEN_NODES[ast.TryStar] = "不允许 try/except"

# Methods a script may call, per type. Everything else (and every name starting with "_") is refused.
_SAFE_METHODS = {
    str: {"lower", "upper", "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith",
          "endswith", "find", "rfind", "count", "index", "isdigit", "isnumeric", "isalpha", "isspace",
          "title", "capitalize", "join", "replace"},
    list: {"append", "extend", "pop", "insert", "remove", "index", "count", "sort", "reverse", "copy", "clear"},
    dict: {"get", "items", "keys", "values", "pop", "setdefault", "update", "copy", "clear"},
    set: {"add", "discard", "remove", "pop", "union", "intersection", "difference", "issubset",
          "issuperset", "copy", "clear", "update"},
    tuple: {"index", "count"},
    int: set(), float: {"is_integer"}, bool: set(),
}
_MUTATING = {"append", "extend", "pop", "insert", "remove", "sort", "reverse", "clear", "setdefault",
             "update", "add", "discard"}


@dataclass
class _Run:
    steps: int
    budget: int = MAX_BUDGET
    deadline: float | None = None     # time.monotonic() past which the run stops (not deterministic)

    def charge(self, n: int, weight: int | None = None) -> None:
        """A result of length ``n`` (at most MAX_LENGTH) standing for ``weight`` elements (``n`` unless
        its items are containers or text themselves)."""
        if n > MAX_LENGTH:
            raise ScriptLimitExceeded(f"单次运算结果过大（{n} > {MAX_LENGTH}）")
        self.budget -= n if weight is None else weight
        if self.budget < 0:
            raise ScriptLimitExceeded(f"脚本占用内存超出限制（所建数据超过 {MAX_BUDGET:,} 个元素）")

    def use(self, *values) -> None:
        """References about to be put into a container: each is charged what it stands for."""
        for value in values:
            self.charge(0, weight(value, max(self.budget, 0)))


class _Checker(ast.NodeVisitor):
    def __init__(self, mode: str):
        self.mode = mode

    def generic_visit(self, node):
        reason = _FORBIDDEN_NODES.get(type(node))
        if reason:
            raise ScriptRejected(reason, getattr(node, "lineno", None))
        super().generic_visit(node)

    def visit_Name(self, node):
        _check_name(node.id, node)

    def visit_arg(self, node):
        _check_name(node.arg, node)

    def visit_FunctionDef(self, node):
        _check_name(node.name, node)
        self.generic_visit(node)

    def visit_arguments(self, node):
        # f(x, x) would hand back a tuple of references the budget never saw: doubled in a loop, 2**40
        if node.vararg or node.kwarg:
            extra = node.vararg or node.kwarg
            raise ScriptRejected("不允许 *args / **kwargs 形式的参数", getattr(extra, "lineno", None))
        self.generic_visit(node)

    def visit_Attribute(self, node):
        _check_name(node.attr, node)
        if not isinstance(node.ctx, ast.Load):
            raise ScriptRejected(f"不允许给属性 .{node.attr} 赋值", node.lineno)
        if self.mode == "eval" and node.attr in _MUTATING:
            raise ScriptRejected(f"表达式不得修改数据（.{node.attr}）", node.lineno)
        self.generic_visit(node)

    def visit_FormattedValue(self, node):
        if node.format_spec is not None:
            spec = ast.unparse(node.format_spec)
            if any(len(run) > 3 for run in _digit_runs(spec)) or "{" in spec:
                raise ScriptRejected("格式说明过宽或不是常量", node.lineno)
        self.generic_visit(node)


def _digit_runs(text: str) -> list[str]:
    runs, current = [], ""
    for ch in text:
        if ch.isdigit():
            current += ch
        else:
            runs.append(current)
            current = ""
    return [*runs, current]


def _check_name(name: str, node) -> None:
    if name.startswith("_"):
        raise ScriptRejected(f"不允许使用以下划线开头的名称 {name}", getattr(node, "lineno", None))
    if name == "typename":
        raise ScriptRejected("typename 是保留名称（会破坏流程快照）", getattr(node, "lineno", None))


_CONTAINERS = (list, tuple, set, frozenset, dict)
_SCALARS = {int, float, bool, type(None)}


def weight(value, limit: int = MAX_BUDGET) -> int:
    """How many elements ``value`` stands for with every shared reference counted at each use (what a
    copy, a text or a snapshot of it holds): ``[s] * 10000`` is 10,000 times ``s``. Stops, raising, once
    it passes ``limit``; the walk visits each object once, so it costs no more than the value weighs."""
    if isinstance(value, (str, bytes)):
        return len(value) + 1
    if not isinstance(value, _CONTAINERS):
        return 1
    previous = sys.gettrace()
    sys.settrace(None)        # govflow's bookkeeping, not the diagram's opcodes
    try:
        return _weigh(value, {}, limit, 0)
    finally:
        sys.settrace(previous)


def _weigh(value, seen: dict, limit: int, depth: int) -> int:
    if isinstance(value, (str, bytes)):
        return len(value) + 1
    if not isinstance(value, _CONTAINERS):
        return 1
    known = seen.get(id(value))
    if known is not None:
        if known < 0:
            raise ScriptLimitExceeded("数据中有循环引用（容器包含它自己）")
        return known
    if depth > MAX_NESTING:
        raise ScriptLimitExceeded(f"数据嵌套超过 {MAX_NESTING} 层")
    seen[id(value)] = -1
    items = [*value, *value.values()] if isinstance(value, dict) else list(value)
    total = 1 + len(items)                  # each item at least 1
    kinds = set(map(type, items))           # the common cases decided at C speed: numbers, texts
    if kinds <= _SCALARS:
        items = ()
    elif kinds <= {str}:
        total, items = total + sum(map(len, items)), ()
    for item in items:
        if isinstance(item, (str, bytes)):
            total += len(item)
        elif isinstance(item, _CONTAINERS):
            total += _weigh(item, seen, limit, depth + 1) - 1
            if total > limit:
                raise ScriptLimitExceeded(f"脚本占用内存超出限制（所建数据超过 {MAX_BUDGET:,} 个元素）")
    if total > limit:
        raise ScriptLimitExceeded(f"脚本占用内存超出限制（所建数据超过 {MAX_BUDGET:,} 个元素）")
    seen[id(value)] = total
    return total


_BINOPS = {ast.Mult: "mul", ast.Pow: "pow", ast.Add: "add", ast.LShift: "lshift", ast.Mod: "mod"}


class _Rewriter(ast.NodeTransformer):
    """Route attribute reads and allocating operators through the guards."""

    def visit_Attribute(self, node):
        self.generic_visit(node)
        call = ast.Call(ast.Name("_getattr_", ast.Load()), [node.value, ast.Constant(node.attr)], [])
        return ast.copy_location(call, node)

    def visit_BinOp(self, node):
        self.generic_visit(node)
        op = _BINOPS.get(type(node.op))
        if op is None:
            return node
        call = ast.Call(ast.Name("_op_", ast.Load()), [ast.Constant(op), node.left, node.right], [])
        return ast.copy_location(call, node)

    def visit_FormattedValue(self, node):
        self.generic_visit(node)
        node.value = ast.Call(ast.Name("_shown_", ast.Load()), [node.value], [])
        return node

    def visit_Starred(self, node):
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Load):
            node.value = ast.Call(ast.Name("_spread_", ast.Load()), [node.value], [])
        return node

    def visit_Subscript(self, node):
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Load) and isinstance(node.slice, ast.Slice):   # a slice is a copy
            return ast.copy_location(ast.Call(ast.Name("_spread_", ast.Load()), [node], []), node)
        return node

    def visit_Dict(self, node):
        self.generic_visit(node)
        node.keys = [_used(key) for key in node.keys]
        node.values = [ast.Call(ast.Name("_spread_", ast.Load()), [value], []) if key is None else _used(value)
                       for key, value in zip(node.keys, node.values, strict=True)]
        return node

    def visit_List(self, node):
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Load):
            node.elts = [_used(e) for e in node.elts]
        return node

    visit_Tuple = visit_List

    def visit_Set(self, node):
        self.generic_visit(node)
        node.elts = [_used(e) for e in node.elts]
        return node

    def visit_ListComp(self, node):
        self.generic_visit(node)
        node.elt = _used(node.elt)
        return node

    visit_SetComp = visit_ListComp

    def visit_DictComp(self, node):
        self.generic_visit(node)
        node.key, node.value = _used(node.key), _used(node.value)
        return node

    def visit_Assign(self, node):
        self.generic_visit(node)
        if any(isinstance(n, ast.Subscript) for target in node.targets for n in ast.walk(target)):
            node.value = _used(node.value)      # d[k] = v puts a reference into a container
        return node

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        op = _BINOPS.get(type(node.op))
        if op is None:
            return node
        target_load = _as_load(node.target)
        value = ast.Call(ast.Name("_op_", ast.Load()), [ast.Constant(op), target_load, node.value], [])
        return ast.copy_location(ast.Assign([node.target], value), node)


_FRESH = (ast.Constant, ast.Starred, ast.List, ast.Tuple, ast.Set, ast.Dict, ast.ListComp, ast.SetComp,
          ast.DictComp, ast.JoinedStr, ast.Compare, ast.UnaryOp)


def _used(node):
    """``node`` charged at each use when it goes into a container. Not a constant, nor a value just
    built (a literal, a comparison, an operator's result): what built it was charged already."""
    if node is None or isinstance(node, _FRESH) or (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_op_"):
        return node
    return ast.copy_location(ast.Call(ast.Name("_use_", ast.Load()), [node], []), node)


def _as_load(target):
    clone = ast.parse(ast.unparse(target), mode="eval").body
    return _Rewriter().visit(clone)


_FILENAME = "<diagram>"


@lru_cache(maxsize=4096)
def compile_checked(source: str, mode: str):
    """Check and compile ``source`` (mode ``eval`` or ``exec``). Raises ScriptRejected."""
    try:
        tree = ast.parse(source.strip() if mode == "eval" else source, mode=mode)
    except SyntaxError as err:
        raise ScriptRejected(syntax_reason(err), err.lineno) from None
    _Checker(mode).visit(tree)
    tree = ast.fix_missing_locations(_Rewriter().visit(tree))
    return compile(tree, _FILENAME, mode)


# Python's own words for the syntax errors designers make most, in Chinese (the rest get the general one)
_SYNTAX = ((re.compile(r"'(.)' was never closed"), "括号“{0}”没有闭合"),
           (re.compile(r"unmatched '(.)'"), "多了一个“{0}”"),
           (re.compile(r"closing parenthesis '(.)' does not match opening parenthesis '(.)'"), "“{0}”与“{1}”不配对"),
           (re.compile(r"unterminated (triple-quoted )?string literal"), "字符串缺少结束的引号"),
           (re.compile(r"unexpected EOF|expected an indented block|unexpected indent|unindent"), "缩进或结尾不完整"),
           (re.compile(r"cannot assign to|cannot delete"), "赋值的左边不是变量"),
           (re.compile(r"Perhaps you forgot a comma"), "可能缺少逗号"),
           (re.compile(r"expected ':'"), "缺少冒号“:”"))


def syntax_reason(err: SyntaxError) -> str:
    """A syntax error said wholly in Chinese, with where it is (line and column)."""
    what = next((text.format(*m.groups()) for pattern, text in _SYNTAX if (m := pattern.search(err.msg or ""))),
                "写法不符合 Python 语法")
    where = (f"第 {err.lineno} 行" + (f"第 {err.offset} 列" if err.offset else "")) if err.lineno else ""
    return f"语法错误（{where}）：{what}" if where else f"语法错误：{what}"


def check(source: str, mode: str) -> None:
    """What deploy refuses: all that ``compile_checked`` refuses, and code certain to fail when it runs
    (the runtime guards stop it too, but a designer should hear of it before a user's step does)."""
    compile_checked(source, mode)
    _Doomed().visit(ast.parse(source.strip() if mode == "eval" else source, mode=mode))


# Every attribute a script may ever read; any other is refused by ``_getattr_`` on every run.
_ATTRIBUTES = frozenset().union(*_SAFE_METHODS.values())
# Not in the builtins a script sees: a call to one of them is an attempt to reach past the gate.
_UNSAFE_CALLS = {"getattr", "setattr", "delattr", "hasattr", "eval", "exec", "compile", "open", "globals",
                 "locals", "vars", "dir", "type", "object", "super", "breakpoint", "input", "help",
                 "memoryview", "classmethod", "staticmethod", "property"}
_CONSTANT_NODES = (ast.Constant, ast.BinOp, ast.UnaryOp, ast.List, ast.Tuple, ast.Set, ast.operator,
                   ast.unaryop, ast.Load)


class _Doomed(ast.NodeVisitor):
    def visit_Attribute(self, node):
        if node.attr not in _ATTRIBUTES:
            raise ScriptRejected(f"不允许访问 .{node.attr}（只可调用文本、列表、字典、集合的常用方法）", node.lineno)
        self.generic_visit(node)

    def visit_Call(self, node):
        if isinstance(node.func, ast.Name) and node.func.id in _UNSAFE_CALLS:
            raise ScriptRejected(f"不允许调用 {node.func.id}", node.lineno)
        self.generic_visit(node)

    def visit_While(self, node):
        if isinstance(node.test, ast.Constant) and node.test.value and not _leaves(node.body):
            raise ScriptRejected("死循环：while 的条件恒为真，循环内又没有 break 或 return", node.lineno)
        self.generic_visit(node)

    def visit_BinOp(self, node):
        """Operators over constants only (``'x' * 10**10``): run them now under the runtime guards,
        which refuse an oversized result before computing it."""
        if not all(isinstance(n, _CONSTANT_NODES) for n in ast.walk(node)):
            self.generic_visit(node)
            return
        try:
            evaluate(ast.unparse(node), {})
        except ScriptFailed as failed:
            raise ScriptRejected(f"常量运算 {ast.unparse(node)[:40]} 超出限制：{failed}", node.lineno) from None
        except Exception as err:  # noqa: BLE001 - a constant that cannot be computed fails on every run
            raise ScriptRejected(f"常量运算 {ast.unparse(node)[:40]} 出错：{type(err).__name__}", node.lineno) from None


def _leaves(body: list) -> bool:
    """Whether a loop body can leave its loop: a return, or a break that is not an inner loop's."""
    for node in body:
        if isinstance(node, (ast.Break, ast.Return)):
            return True
        if isinstance(node, (ast.FunctionDef, ast.Lambda)):
            continue
        if isinstance(node, (ast.For, ast.While)):
            inner = [n for n in ast.walk(ast.Module(node.body, [])) if isinstance(n, ast.Return)]
            if inner or _leaves(node.orelse):
                return True
            continue
        if _leaves([child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt)]):
            return True
    return False


# -- runtime guards -------------------------------------------------------------------------------

def _size(value) -> int:
    return len(value) if isinstance(value, (str, bytes, list, tuple, set, dict)) else 1


def _guarded_op(run: _Run):
    def op(kind, a, b):
        if kind == "mul":
            if isinstance(a, int) and isinstance(b, (str, list, tuple)):
                a, b = b, a
            if isinstance(a, str) and isinstance(b, int):
                run.charge(len(a) * max(b, 0))
            elif isinstance(a, (list, tuple)) and isinstance(b, int):
                times = max(b, 0)       # [s] * n holds s n times: charged so, before it is built
                run.charge(len(a) * times, (weight(a, max(run.budget, 0)) - 1) * times)
            elif isinstance(a, int) and isinstance(b, int):
                _check_bits(a.bit_length() + b.bit_length())
            return a * b
        if kind == "pow":
            if isinstance(a, int) and isinstance(b, int) and b > 0:
                _check_bits(int(b * math.log2(abs(a) or 1)) + 1)
            return a ** b
        if kind == "lshift":
            if isinstance(b, int):
                _check_bits(b + (a.bit_length() if isinstance(a, int) else 0))
            return a << b
        if kind == "add":
            if isinstance(a, str) and isinstance(b, str):
                run.charge(len(a) + len(b))
            elif isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
                budget = max(run.budget, 0)
                run.charge(len(a) + len(b), weight(a, budget) + weight(b, budget))
            return a + b
        if kind == "mod":
            if isinstance(a, str):
                _check_percent_format(a)
                size = _formatted_length(a, b)
                run.charge(size)           # before formatting: '%(a)s' * 6000 % {...} is refused unbuilt
                return a % b
            return a % b
        raise AssertionError(kind)
    return op


def _check_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise ScriptLimitExceeded("数值过大")


def _check_percent_format(fmt: str) -> None:
    if "*" in fmt or any(len(run) > 3 for run in _digit_runs(fmt)):
        raise ScriptLimitExceeded("格式说明过宽")


_CONVERSION = re.compile(r"%(?:\(([^)]*)\))?[#0 +-]*(\d*)(?:\.(\d*))?[hlL]?(.?)")


def _formatted_length(fmt: str, args) -> int:
    """An upper bound of the length of ``fmt % args``, from the conversions and what each shows."""
    values = args if isinstance(args, tuple) else (args,)
    total, position = len(fmt), 0
    for key, width, precision, conversion in _CONVERSION.findall(fmt):
        if conversion == "%":
            continue
        if key and isinstance(args, dict):
            value = args.get(key)
        else:
            value = values[position] if position < len(values) else None
            position += 1
        total += int(width or 0) + int(precision or 0) + _shown_length(value)
        if total > MAX_LENGTH:
            raise ScriptLimitExceeded(f"单次运算结果过大（格式化结果超过 {MAX_LENGTH}）")
    return total


def _guarded_getattr(run: _Run):
    def getattr_(obj, name):
        allowed = _SAFE_METHODS.get(type(obj))
        if allowed is None or name not in allowed:
            raise ScriptLimitExceeded(f"不允许访问 {type(obj).__name__}.{name}")
        method = getattr(obj, name)
        if isinstance(obj, str) and name == "join":
            return lambda items: _join(run, obj, items)
        if isinstance(obj, str) and name == "replace":
            return lambda old, new, *count: _replace(run, obj, old, new, *count)
        if name in _EXTENDING:
            return _charging_arguments(run, method, materialise=True)
        if name in _INSERTING:
            return _charging_arguments(run, method)
        if name in _COPYING:
            return _charging_result(run, method)
        return method      # reads (get, index, find…) and removals build nothing
    return getattr_


_EXTENDING = {"extend", "update", "union"}                # grow by the items of their arguments
_INSERTING = {"append", "insert", "add", "setdefault"}    # grow by their arguments themselves
_COPYING = {"copy", "split", "rsplit", "splitlines", "intersection", "difference", "lower", "upper", "strip",
            "lstrip", "rstrip", "title", "capitalize"}    # a new value bounded by their input


def _charging_arguments(run: _Run, method, materialise: bool = False):
    """Charge what the arguments stand for before they go in; an iterator (``zip(x, x)``) is made a
    list first, so that what it yields is charged too."""
    def call(*args):
        if materialise:
            args = tuple(_materialised(a) for a in args)
        run.use(*args)
        return method(*args)
    return call


def _materialised(value):
    return value if isinstance(value, (str, bytes, range, *_CONTAINERS)) else list(value)


def _charging_result(run: _Run, function):
    """Methods and builtins whose result is bounded by their input (split, copy, list, sorted…):
    the result is charged, so that a loop of copies runs out of budget."""
    def call(*args, **kwargs):
        result = function(*args, **kwargs)
        run.use(result)
        return result
    return call


def _guarded_spread(run: _Run):
    def spread(value):
        value = _materialised(value)
        if isinstance(value, range):
            run.charge(len(value))
        else:
            run.use(value)
        return value
    return spread


def _guarded_use(run: _Run):
    def use(value):
        run.use(value)
        return value
    return use


def _join(run: _Run, sep: str, items):
    items = list(items)
    run.charge(sum(_size(i) for i in items) + len(sep) * len(items))
    return sep.join(items)


def _replace(run: _Run, text: str, old: str, new: str, *count):
    worst = len(text) + text.count(old) * max(len(new) - len(old), 0) if old else len(text) * (len(new) + 1)
    run.charge(worst)
    return text.replace(old, new, *count)


def _check_shown(run: _Run, value) -> None:
    """Refuse to turn ``value`` into text when its text would be too long."""
    run.charge(_shown_length(value))


def _shown_length(value, limit: int = MAX_LENGTH) -> int:
    """The length of ``value``'s text, estimated before it is made. Containers may hold the same large
    object many times, so they are walked, each use counted; the walk stops past ``limit``."""
    pending, total = [value], 0
    while pending:
        item = pending.pop()
        if isinstance(item, (list, tuple, set, frozenset)):
            pending.extend(item)
            total += 2 + 2 * len(item)
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
            total += 2 + 4 * len(item)
        else:
            total += len(item) + 2 if isinstance(item, str) else _digits(item)
        if total > limit:
            raise ScriptLimitExceeded("转换成文本的内容过长")
    return total


def _digits(value) -> int:
    return value.bit_length() * 10 // 33 + 2 if isinstance(value, int) else 24    # log10(2) < 10/33


def _guarded_shown(run: _Run):
    def shown(value):
        _check_shown(run, value)
        return value
    return shown


def _guarded_str(run: _Run):
    def str_(value=""):
        _check_shown(run, value)
        return str(value)
    return str_


def _guarded_sum(run: _Run):
    def sum_(items, start=0):
        items = list(items)
        if not isinstance(start, (int, float)):
            run.use(start, *items)
        return sum(items, start)
    return sum_


def _guarded_range(run: _Run):
    def range_(*args):
        r = range(*args)
        run.charge(len(r))
        return r
    return range_


_SAFE_BUILTINS = {
    name: getattr(builtins, name)
    for name in ("abs", "all", "any", "bool", "dict", "divmod", "enumerate", "filter", "float", "int",
                 "isinstance", "len", "list", "map", "max", "min", "reversed", "round", "set", "sorted",
                 "tuple", "zip")
}


def _tracer(run: _Run):
    # Opcode events, not line events: a one-line ``while True: pass`` never starts a new line.
    # Only the diagram's own frames are counted: the guards' work is bounded by the element budget.
    def trace(frame, event, arg):
        if event == "call":
            if frame.f_code.co_filename != _FILENAME:
                return None
            frame.f_trace_opcodes = True
        else:
            run.steps -= 1
            if run.steps < 0:
                raise ScriptLimitExceeded(f"脚本运行超过 {MAX_STEPS:,} 步（是否有死循环？）")
            if run.deadline is not None and run.steps % 256 == 0 and time.monotonic() > run.deadline:
                raise ScriptLimitExceeded("运行超过时限（一个步骤的脚本和条件合计），已被终止")
        return trace
    return trace


def _guards(run: _Run) -> dict:
    copying = {name: _charging_result(run, _SAFE_BUILTINS[name]) for name in ("list", "tuple", "set", "dict",
                                                                                "sorted")}
    allowed = dict(_SAFE_BUILTINS, **copying, range=_guarded_range(run), str=_guarded_str(run),
                   sum=_guarded_sum(run))
    return {"__builtins__": allowed, "_getattr_": _guarded_getattr(run), "_op_": _guarded_op(run),
            "_shown_": _guarded_shown(run), "_spread_": _guarded_spread(run), "_use_": _guarded_use(run)}


def _run(code, scope: dict, mode: str, steps: int, deadline: float | None = None):
    run = _Run(steps=steps, deadline=deadline)
    scope.update(_guards(run))
    previous, collecting = sys.gettrace(), gc.isenabled()
    # A full collection of a large heap would be charged to whatever script happened to trigger
    # it; the element budget already bounds what a script allocates, so collect after it instead.
    gc.disable()
    sys.settrace(_tracer(run))
    try:
        return eval(code, scope) if mode == "eval" else exec(code, scope)
    except ScriptLimitExceeded as limit:
        raise ScriptFailed(str(limit)) from None
    except RecursionError:
        raise ScriptFailed("递归层数过深") from None
    except MemoryError:
        raise OutOfMemory("脚本占用内存超出限制") from None
    finally:
        sys.settrace(previous)
        if collecting:
            gc.enable()


def _untraced(func):
    """govflow's own helper (``workdays``…) runs without the opcode tracer: the budget bounds the
    diagram's code, and tracing every opcode of a calendar lookup made it many times slower."""
    def call(*args, **kwargs):
        tracer = sys.gettrace()
        sys.settrace(None)
        try:
            return func(*args, **kwargs)
        finally:
            sys.settrace(tracer)
    return call


def trusted(functions: dict) -> dict:
    """``functions`` wrapped to run untraced inside scripts (wrap once, pass to every call)."""
    return {name: _untraced(func) for name, func in functions.items()}


def evaluate(expression: str, names: dict, functions: dict | None = None, steps: int = MAX_STEPS,
             deadline: float | None = None):
    """Evaluate a checked expression with ``names`` (task data) and helper ``functions`` visible."""
    code = compile_checked(expression, "eval")
    scope = {**(functions or {}), **names}
    return _run(code, scope, "eval", steps, deadline)


def execute(script: str, names: dict, functions: dict | None = None, steps: int = MAX_STEPS) -> dict:
    """Run a checked script over a copy of ``names``; return the variables it leaves (no callables)."""
    code = compile_checked(script, "exec")
    helpers = functions or {}
    scope = {**helpers, **names}
    _run(code, scope, "exec", steps)
    return {k: v for k, v in scope.items()
            if not k.startswith("_") and not callable(v) and not (k in helpers and scope[k] is helpers[k])}
