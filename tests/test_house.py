"""The house rules that keep the code readable: no import circles, rule scripts imported by no
library or benchmark, tests that import no other test, and no code outside a registry that asks
a learnable part's name."""

import ast
from pathlib import Path

import yaml

from models.notes.composers import COMPOSERS
from models.notes.performers import PERFORMERS
from models.raw_audio import ARCHITECTURES
from tests.support import REPO

PACKAGES = ("sonata", "models", "workflow_scripts", "benchmarks")
REGISTRIES = {
    "models/raw_audio": ARCHITECTURES,
    "models/notes/composers": COMPOSERS,
    "models/notes/performers": PERFORMERS,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")}


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules a file imports, at its top or inside a function alike."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def test_the_project_has_no_import_circles():
    modules = project_modules()
    graph = {name: imports_of(path, modules) - {name} for name, path in modules.items()}
    circles = []

    def visit(name: str, trail: list[str], done: set[str]) -> None:
        for imported in sorted(graph[name]):
            if imported in trail:
                circles.append(" -> ".join(trail[trail.index(imported) :] + [imported]))
            elif imported not in done:
                visit(imported, trail + [imported], done)
        done.add(name)

    done: set[str] = set()
    for name in sorted(graph):
        if name not in done:
            visit(name, [name], done)
    assert not circles, circles


def test_no_library_or_benchmark_imports_a_rule_script_or_a_test_and_no_test_imports_a_test():
    modules = project_modules()
    offenders = [
        f"{name} imports {imported}"
        for name, path in modules.items()
        if not name.startswith("workflow_scripts")
        for imported in imports_of(path, modules)
        if imported.startswith("workflow_scripts") and imported != "workflow_scripts.templates"
    ]
    offenders += [  # nor does any of them lean on the tests
        f"{name} imports tests"
        for name, path in modules.items()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "tests"
    ]
    for path in (REPO / "tests").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            named = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [
                f"{path.relative_to(REPO)} imports {n}"
                for n in named
                if n.rpartition(".")[2].startswith("test_") or n.endswith("conftest")
            ]
    assert not offenders, offenders


def test_no_code_outside_a_registry_asks_a_learnable_parts_name():
    """Comparing against an adapter's name (its config name or its cards') belongs to the
    adapter and its registry, nowhere else: in models/, workflow_scripts/, benchmarks/, rules/."""
    names = {n for registry in REGISTRIES.values() for a in registry.values() for n in (a.name, a.card_name)}
    folders = ("sonata", "models", "workflow_scripts", "benchmarks", "rules")
    files = [p for f in folders for p in (REPO / f).rglob("*") if p.suffix in (".py", ".smk")]
    offenders = []
    for path in [*files, REPO / "Snakefile"]:
        where = path.relative_to(REPO).as_posix()
        if where == "models/registry.py" or any(where.startswith(r) for r in REGISTRIES):
            continue
        text = path.read_text()
        if path.suffix != ".py":
            offenders += [f"{where}: {n}" for n in names if f'== "{n}"' in text or f"== '{n}'" in text]
            continue
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Compare):
                values = [node.left, *node.comparators]
                values += [e for v in values if isinstance(v, ast.Tuple | ast.List | ast.Set) for e in v.elts]
                if any(isinstance(v, ast.Constant) and v.value in names for v in values):
                    offenders.append(f"{where}:{node.lineno}")
    assert not offenders, offenders


def test_the_schema_names_exactly_the_adapters_each_registry_holds():
    """Adding an adapter is a module, a registry line and its keys in the schema: a name in one
    and not the other fails here, not in a user's run."""
    schema = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())
    notes = schema["properties"]["notes"]["properties"]
    assert set(notes["composer"]["properties"]["architecture"]["enum"]) == set(COMPOSERS.names())
    assert set(notes["performer"]["properties"]["architecture"]["enum"]) == set(PERFORMERS.names())
    raw = schema["properties"]["models"]["additionalProperties"]["oneOf"]
    assert {s["properties"]["architecture"]["const"] for s in raw} == set(ARCHITECTURES.names())


def test_each_registry_refuses_an_unknown_name_naming_the_known_ones():
    import pytest

    from sonata import SonataError

    for registry in REGISTRIES.values():
        with pytest.raises(SonataError, match=registry.where) as caught:
            registry.named("no-such-model")
        assert all(name in str(caught.value) for name in registry.names())
