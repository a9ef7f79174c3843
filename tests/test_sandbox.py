"""The gate in front of diagram code: what designers may write, and what never runs."""
from __future__ import annotations

import time

import pytest

from govflow.engine import sandbox


@pytest.mark.parametrize("expression, names, expected", [
    ('review["decision"] == "退回"', {"review": {"decision": "退回"}}, True),
    ("tally['passed'] and len(opinions) >= 2", {"tally": {"passed": True}, "opinions": [1, 2]}, True),
    ("'、'.join(names)", {"names": ["财政局", "司法局"]}, "财政局、司法局"),
    ("sum(o['amount'] for o in items)", {"items": [{"amount": 2}, {"amount": 3}]}, 5),
    ("f'{n:>4}'", {"n": 7}, "   7"),
    ("sorted(d.keys())", {"d": {"b": 1, "a": 2}}, ["a", "b"]),
    ("max(range(10)) ** 2", {}, 81),
])
def test_ordinary_expressions_run(expression, names, expected):
    assert sandbox.evaluate(expression, names) == expected


def test_scripts_return_their_variables_but_not_their_functions():
    result = sandbox.execute("def twice(v):\n    return v * 2\ny = twice(x)\nzs = [i for i in range(3)]", {"x": 4})
    assert result == {"x": 4, "y": 8, "zs": [0, 1, 2]}


@pytest.mark.parametrize("source, reason", [
    ("import os", "import"),
    ("from os import path", "import"),
    ("__import__('os')", "下划线"),
    ("().__class__.__base__.__subclasses__()", "下划线"),
    ("(lambda: 1).__code__", "下划线"),
    ("x._private", "下划线"),
    ("try:\n    pass\nexcept Exception:\n    pass", "try"),
    ("class A:\n    pass", "类"),
    ("global x", "global"),
    ("x.y = 1", "赋值"),
    ("typename = 1", "typename"),
    ("f'{x:>100000}'", "格式"),
])
def test_code_that_could_escape_is_rejected_before_it_runs(source, reason):
    with pytest.raises(sandbox.ScriptRejected) as rejected:
        sandbox.check(source, "exec")
    assert reason in rejected.value.reason


@pytest.mark.parametrize("expression", ["open('/etc/passwd')", "eval('1')", "exec('1')", "getattr(x, 'a')",
                                        "type(x)", "print(x)", "compile('1','','eval')", "globals()", "vars()"])
def test_dangerous_builtins_are_not_there(expression):
    with pytest.raises(Exception) as failed:
        sandbox.evaluate(expression, {"x": 1})
    assert isinstance(failed.value, NameError)


def test_expressions_may_not_change_data():
    with pytest.raises(sandbox.ScriptRejected, match="修改"):
        sandbox.check("items.append(1)", "eval")


@pytest.mark.parametrize("source", [
    "'a' * 10**9", "[0] * 10**8", "10 ** 10 ** 10", "1 << 10**9", "max(range(10**9))",
    "s = 'a'\nwhile True:\n    s = s + s",
    "l = [0] * 50000\nx = [l * 2 for i in range(1000)]",
    "str([('x' * 90000)] * 1000)", "'%1000000000d' % 1", "sum([['a'] * 90000] * 100, [])",
    "x = 'ab' * 50000\ny = x.replace('a', 'a' * 1000)", "'x'.ljust(10**9)",
    "def f():\n    return f()\nf()",
])
def test_huge_allocations_and_recursion_stop_quickly(source):
    began = time.monotonic()
    with pytest.raises(sandbox.ScriptFailed):
        sandbox.execute(source, {})
    assert time.monotonic() - began < 2


@pytest.mark.parametrize("source", ["while True: pass", "while True:\n    x = 1",
                                    "x = 0\nwhile x >= 0:\n    x = x + 1"])
def test_endless_loops_are_stopped_by_the_step_bound(source):
    began = time.monotonic()
    with pytest.raises(sandbox.ScriptFailed, match="超过 1,000,000 步"):
        sandbox.execute(source, {})
    assert time.monotonic() - began < 3


def test_the_limit_cannot_be_caught_by_the_script():
    # try is refused statically; even a bare loop around the limit cannot swallow it
    with pytest.raises(sandbox.ScriptFailed):
        sandbox.execute("while True:\n    pass", {}, steps=10_000)


@pytest.mark.parametrize("source", [
    "match [0]:\n    case list(__mul__=m):\n        pass",
    "match 1:\n    case int(__class__=C):\n        pass",
    "match f:\n    case _op_:\n        pass",
])
def test_match_patterns_cannot_reach_dunders_or_rebind_guards(source):
    with pytest.raises(sandbox.ScriptRejected, match="match"):
        sandbox.check(source, "exec")


@pytest.mark.parametrize("source", [
    "a = [0] * 100000\nfor i in range(8):\n    a = [*a, *a]",
    "a = [0] * 100000\nfor i in range(60):\n    a.extend(a[:100000])",
    "d = {i: i for i in range(50000)}\nfor i in range(200):\n    e = {**d}",
    "a = [0] * 100000\nkeep = []\nfor i in range(100):\n    keep.append(list(a))",
    "a = [0] * 100000\nkeep = []\nfor i in range(100):\n    keep.append(sorted(a))",
    "s = 'a ' * 50000\nkeep = []\nfor i in range(200):\n    keep.append(s.split())",
    "a = [0] * 100000\nkeep = []\nfor i in range(100):\n    keep.append(a[:])",
])
def test_unpacking_copies_and_growth_are_charged_to_the_budget(source):
    with pytest.raises(sandbox.ScriptFailed, match="过大|超出"):
        sandbox.execute(source, {})


def test_ordinary_unpacking_still_works():
    assert sandbox.execute("a = [1, 2]\nb = [*a, 3]\nd = {**{'x': 1}, 'y': 2}\na.extend([4])\nc = a[1:]", {}) == {
        "a": [1, 2, 4], "b": [1, 2, 3], "d": {"x": 1, "y": 2}, "c": [2, 4]}
