"""The layout's import rules (README, "How it is built"), read statically from the source files.

- engine/ knows nothing of the sales domain, the web app or the composition root;
- only engine/bpmn/ imports SpiffWorkflow;
- workflows/ (the sales domain) builds on the engine, never on web/ or stagegate/;
- web/ reaches the engine through its use cases (engine.services), its read-only views
  (engine.queries) and the root modules in WEB_MAY_USE; besides, the domain and the composition root;
- no cycle between packages (each engine subpackage, each engine root module, workflows, web,
  stagegate.compose, stagegate.cli);
- no module over 400 lines.
Migrations are history (they import what existed when they were written) and __main__.py files
are entry scripts nothing imports: both are left out.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("engine", "workflows", "web", "stagegate")
ENGINE_MUST_NOT = ("workflows", "web", "stagegate")
WEB_MAY_USE = ("engine.services", "engine.queries", "engine.errors", "engine.limits", "engine.actors",
               "engine.assignment", "engine.clock", "engine.readonly", "engine.roles", "engine.process_limits",
               "workflows", "stagegate.compose")
MAX_LINES = 400


def source_files(root: Path, packages=PACKAGES) -> list[Path]:
    """The modules the rules cover, below `root`."""
    return sorted(p for pkg in packages for p in (root / pkg).rglob("*.py")
                  if "versions" not in p.relative_to(root).parts and p.name != "__main__.py"
                  and ".venv" not in p.parts)


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(root: Path, name: str) -> bool:
    path = root.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _type_checking_only(tree: ast.AST) -> set[int]:
    """Line numbers of imports under `if TYPE_CHECKING:` (annotations only, nothing runs them)."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING":
            lines.update(n.lineno for stmt in node.body for n in ast.walk(stmt) if isinstance(n, (ast.Import, ast.ImportFrom)))
    return lines


def imports(root: Path, path: Path) -> list[tuple[int, str]]:
    """(line, module) for each module `path` imports; `from engine import sandbox` names engine.sandbox."""
    tree = ast.parse(path.read_text(), str(path))
    skip = _type_checking_only(tree)
    here = module_name(root, path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for a in node.names:
                sub = f"{base}.{a.name}"
                found.append((node.lineno, sub if _is_module(root, sub) else base))
    return found


def _under(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def violations(root: Path) -> list[str]:
    """Every import that breaks one of the rules, as 'file:line imports module (why)'."""
    out = []
    for path in source_files(root):
        rel, here = path.relative_to(root), module_name(root, path)
        for line, name in imports(root, path):
            where = f"{rel}:{line} imports {name}"
            if here.startswith("engine") and _under(name, ENGINE_MUST_NOT):
                out.append(f"{where} (the engine knows nothing of the domain, the web app or the composition root)")
            if _under(name, ("SpiffWorkflow",)) and not _under(here, ("engine.bpmn",)):
                out.append(f"{where} (only engine/bpmn/ imports SpiffWorkflow)")
            if here.startswith("workflows") and _under(name, ("web", "stagegate")):
                out.append(f"{where} (the domain builds on the engine only)")
            if here.startswith("web") and _under(name, ("engine", "stagegate")) and not _under(name, WEB_MAY_USE):
                out.append(f"{where} (web uses engine.services, engine.queries and {', '.join(WEB_MAY_USE[2:])})")
    return out


def unit(name: str) -> str | None:
    """The package a module counts in for the cycle check."""
    parts = name.split(".")
    if parts[0] == "engine":
        return ".".join(parts[:2])  # a subpackage, or a root module (engine.errors)
    if parts[0] == "stagegate":
        return ".".join(parts[:2]) if len(parts) > 1 else None
    return parts[0] if parts[0] in PACKAGES else None


def cycles(root: Path) -> list[list[str]]:
    """Each cycle in the package graph once, as the packages along it."""
    edges: dict[str, set[str]] = {}
    for path in source_files(root):
        src = unit(module_name(root, path))
        for _, name in imports(root, path):
            dst = unit(name)
            if src and dst and dst != src and dst != "engine":
                edges.setdefault(src, set()).add(dst)
    found, seen = [], set()

    def walk(node, trail):
        for nxt in sorted(edges.get(node, ())):
            if nxt in trail:
                cycle = trail[trail.index(nxt):]
                key = frozenset(cycle)
                if key not in seen:
                    seen.add(key)
                    found.append(cycle + [nxt])
            elif nxt not in done:
                walk(nxt, trail + [nxt])
        done.add(node)

    done: set[str] = set()
    for start in sorted(edges):
        if start not in done:
            walk(start, [start])
    return found


def long_modules(root: Path) -> list[str]:
    files = source_files(root, PACKAGES + ("bench", "tests"))
    return [f"{p.relative_to(root)}: {n} lines" for p in files if (n := len(p.read_text().splitlines())) > MAX_LINES]


def test_every_import_keeps_the_layout():
    assert violations(ROOT) == []


def test_no_cycle_between_packages():
    assert cycles(ROOT) == []


def test_no_module_is_over_400_lines():
    assert long_modules(ROOT) == []


def test_the_files_the_code_finds_by_path_are_where_the_layout_puts_them():
    from engine import domain
    from engine.audit import keys
    from engine.store import schema
    from web import settings

    assert keys.DEFAULT_FILE == settings.REPO_ROOT / "instance" / "audit_key"  # beside the app's secret key
    assert (schema.MIGRATIONS / "versions" / "0016_keyed_audit_and_sessions.py").is_file()  # later ones may follow
    assert domain.current().new_process_template.read_bytes().startswith(b"<?xml")


@pytest.mark.parametrize("path, text, rule", [
    ("engine/services/probe.py", "from workflows import vocabulary\n", "the engine knows nothing"),
    ("engine/probe.py", "import web.context\n", "the engine knows nothing"),
    ("engine/queries/probe.py", "from ..bpmn import runtime\nfrom stagegate.compose import bootstrap\n",
     "the engine knows nothing"),
    ("engine/services/probe.py", "from SpiffWorkflow.bpmn import BpmnWorkflow\n", "only engine/bpmn/"),
    ("workflows/probe.py", "from SpiffWorkflow.util.task import TaskState\n", "only engine/bpmn/"),
    ("workflows/probe.py", "from web.context import stagegate\n", "the domain builds on the engine only"),
    ("web/probe.py", "from engine.store.models import Instance\n", "web uses engine.services"),
    ("web/probe.py", "from engine.bpmn import xmlsafe\n", "web uses engine.services"),
    ("web/probe.py", "from stagegate.cli import main\n", "web uses engine.services"),
])
def test_the_check_refuses_an_import_against_the_rules(tmp_path, path, text, rule):
    tree = _copy_of_the_tree(tmp_path)
    (tree / path).write_text(text)
    found = violations(tree)
    assert len(found) == 1 and found[0].startswith(f"{path}:") and rule in found[0], found


def test_the_check_finds_a_cycle_and_a_long_module(tmp_path):
    tree = _copy_of_the_tree(tmp_path)
    (tree / "engine/store/probe.py").write_text("from engine.services import instances\n")
    assert any({"engine.store", "engine.services"} <= set(c) for c in cycles(tree))
    (tree / "workflows/probe.py").write_text("x = 1\n" * (MAX_LINES + 1))
    assert f"workflows/probe.py: {MAX_LINES + 1} lines" in long_modules(tree)
    (tree / "workflows/probe.py").write_text("x = 1\n" * MAX_LINES)
    assert not any(line.startswith("workflows/probe.py") for line in long_modules(tree))


def test_an_annotation_only_import_and_a_relative_one_are_read_right(tmp_path):
    tree = _copy_of_the_tree(tmp_path)
    (tree / "engine/store/probe.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from stagegate.compose import Stagegate\n"
        "from . import models\nfrom .. import errors\n")
    assert violations(tree) == []
    assert {n for _, n in imports(tree, tree / "engine/store/probe.py")} == {"typing", "engine.store.models",
                                                                            "engine.errors"}


def _copy_of_the_tree(tmp_path: Path) -> Path:
    """The packages' source files (only they: the rules read nothing else) under tmp_path."""
    for path in source_files(ROOT):
        target = tmp_path / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text())
    return tmp_path
