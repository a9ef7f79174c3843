"""The packages of src/govflow/ are layers: a module imports only its own package and the layers below
it. Read from the code's own imports (every ``import``, at module level, inside functions and under
``TYPE_CHECKING`` alike), so a new import that reaches upward fails here, naming the file and the line.
docs/architecture.md draws the same order."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "govflow"

# Bottom to top. A top-level module or package of govflow that is in no layer fails the test: new code
# goes into the package of its layer.
LAYERS: list[tuple[str, ...]] = [
    ("errors", "config"),    # the base: domain errors and settings, imported by every layer
    ("time",),
    ("profiles",),
    ("store",),
    ("people",),
    ("engine",),
    ("bpmn",),
    ("records",),
    ("rules",),
    ("work",),
    ("audit",),
    ("api",),
    ("ui",),
    ("app",),
    ("cli",),
]

# (file, imported module) -> why the import may run upward.
EXCEPTIONS = {
    ("engine/operators.py", "govflow.rules"):
        "plug-in discovery: the registry imports the rule modules at first use, so that each rule registers "
        "itself with @operator under its name; no engine code names a rule",
}

LEVEL = {name: level for level, names in enumerate(LAYERS) for name in names}


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def dotted(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return ".".join(parts), is_package


def imported(path: Path):
    """(line, absolute module name) for every govflow module that ``path`` imports."""
    name, is_package = dotted(path)
    package = name if is_package else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("govflow"):
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "govflow":          # from govflow import x / from .. import x: x is the module
                for alias in node.names:
                    yield node.lineno, f"govflow.{alias.name}"
            elif target.startswith("govflow."):
                yield node.lineno, target


def layer_of(module: str) -> str:
    return module.split(".")[1]


def upward_imports() -> list[str]:
    found = []
    for path in modules():
        source = layer_of(dotted(path)[0])
        for line, target in imported(path):
            relative = path.relative_to(PACKAGE).as_posix()
            if LEVEL[layer_of(target)] > LEVEL[source] and (relative, target) not in EXCEPTIONS:
                found.append(f"{relative}:{line} imports {target} ({layer_of(target)} is above {source})")
    return found


def test_every_top_level_module_and_package_is_in_a_layer():
    tops = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    tops |= {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert sorted(tops - set(LEVEL)) == [], "put new modules into the package of their layer (or add the layer here)"
    assert sorted(set(LEVEL) - tops) == []


def test_no_module_imports_a_layer_above_its_own():
    assert upward_imports() == []


def test_each_exception_is_still_needed():
    """An exception whose import is gone must leave the list, so the list stays the truth."""
    used = {(path.relative_to(PACKAGE).as_posix(), target) for path in modules() for _, target in imported(path)}
    assert sorted(set(EXCEPTIONS) - used) == []


@pytest.mark.parametrize("package", [names[0] for names in LAYERS if (PACKAGE / names[0] / "__init__.py").exists()])
def test_each_package_says_what_it_holds_and_what_it_may_import(package):
    docstring = ast.get_docstring(ast.parse((PACKAGE / package / "__init__.py").read_text(encoding="utf-8")))
    assert docstring, f"{package}/__init__.py needs a docstring: what it holds, what it may import"
    assert f"Layer {LEVEL[package]}" in docstring, f"{package}/__init__.py should name its layer ({LEVEL[package]})"


def test_the_check_finds_an_import_that_reaches_upward(tmp_path, monkeypatch):
    """The check itself can fail: a store module importing the work layer is reported with its line."""
    fake = tmp_path / "govflow"
    (fake / "store").mkdir(parents=True)
    (fake / "store" / "__init__.py").write_text("")
    (fake / "store" / "bad.py").write_text("import json\n\nfrom ..work.instances import complete\n")
    monkeypatch.setattr(sys.modules[__name__], "SRC", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert upward_imports() == ["store/bad.py:3 imports govflow.work.instances (work is above store)"]
