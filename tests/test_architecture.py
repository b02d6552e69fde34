"""The package's floors (docs/architecture.md), checked on the source tree.

    ops → cores → heads / models → tasks → trainers → CLI;  backends beside the cores

Every import of a module of the package, static (``import``, ``from … import``, relative ones
resolved) or by name in a string (``importlib.import_module("fastweights_np.…")``), must go
down the floors, never up; and no trainer imports a particular task.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "fastweights_np"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE

# (what imports, what it may never import). Names are dotted module prefixes.
UPPER = ("backends", "heads", "models", "tasks", "train", "cli", "oracle")
RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ops", ("cores", *UPPER)),
    ("cores", UPPER),
    ("backends", ("heads", "models", "tasks", "train", "cli", "oracle")),
    ("heads", ("backends", "models", "tasks", "train", "cli", "oracle")),
    ("models", ("tasks", "train", "cli")),
    ("tasks", ("train", "cli")),
    ("train", ("cli",)),
    ("oracle", ("tasks", "train", "cli")),
)


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(path: Path, root: Path) -> set[str]:
    """Every module of the package that the file at ``path`` imports, statically or by a string."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = module_name(path, root)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value.startswith(root.name + ".") and " " not in node.value:
                names.add(node.value)
    return {name for name in names if name == root.name or name.startswith(root.name + ".")}


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(root: Path = ROOT) -> list[str]:
    """One line per import that breaks a rule: 'importer -> imported (rule)'."""
    found = []
    task_packages = {p.name for p in (root / "tasks").iterdir() if p.is_dir() and (p / "__init__.py").exists()} \
        if (root / "tasks").is_dir() else set()
    for path in sorted(root.rglob("*.py")):
        importer = module_name(path, root)
        floor = importer.split(".")[1] if "." in importer else ""
        for name in sorted(imported_names(path, root)):
            for lower, forbidden in RULES:
                if floor == lower and any(within(name, f"{root.name}.{up}") for up in forbidden):
                    found.append(f"{importer} -> {name} ({lower} never imports {', '.join(forbidden)})")
            if within(name, f"{root.name}.cli") and floor not in ("cli", "__main__"):
                found.append(f"{importer} -> {name} (nothing outside cli/ imports cli/)")
            if floor == "train" and any(within(name, f"{root.name}.tasks.{task}") for task in task_packages):
                found.append(f"{importer} -> {name} (a trainer never imports a particular task)")
    return found


def test_the_package_keeps_its_floors():
    assert violations() == []


def test_the_check_sees_imports_up_the_floors_and_by_name(tmp_path):
    root = tmp_path / PACKAGE
    for folder in ("cores/fw", "ops", "train", "tasks/toy", "backends", "cli"):
        (root / folder).mkdir(parents=True)
        (root / folder / "__init__.py").write_text("")
    (root / "cores" / "fw" / "sequence.py").write_text("from fastweights_np.backends import get_core\n")
    (root / "ops" / "relu.py").write_text("from ..backends import numba\n")
    (root / "cores" / "fw" / "step.py").write_text(
        "import importlib\nimportlib.import_module('fastweights_np.backends.numba')\n"
    )
    (root / "train" / "loop.py").write_text("from fastweights_np.tasks.toy import data\n")
    (root / "backends" / "numba.py").write_text("import fastweights_np.cli\nfrom fastweights_np.cores import fw\n")
    found = violations(root)
    assert any(line.startswith("fastweights_np.cores.fw.sequence -> fastweights_np.backends") for line in found)
    assert any(line.startswith("fastweights_np.ops.relu -> fastweights_np.backends") for line in found)
    assert any(line.startswith("fastweights_np.cores.fw.step -> fastweights_np.backends.numba") for line in found)
    assert any("a trainer never imports a particular task" in line for line in found)
    assert any("nothing outside cli/ imports cli/" in line for line in found)
    assert not any("backends.numba -> fastweights_np.cores" in line for line in found)  # beside the cores: allowed


@pytest.mark.parametrize("floor", ["ops", "cores", "backends", "heads", "models", "tasks", "train", "cli"])
def test_every_floor_exists(floor):
    assert (ROOT / floor / "__init__.py").exists()
