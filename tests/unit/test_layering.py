"""The package's layers depend one way: adapters on the pipeline's ports, never the reverse."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import newswire

PACKAGE = Path(newswire.__file__).parent
#: What each inner layer must not import, however deep in a function the import hides.
FORBIDDEN = {
    "domain": ("newswire.adapters", "newswire.pipeline", "newswire.handlers", "boto3", "botocore"),
    "pipeline": ("newswire.adapters", "newswire.handlers", "newswire.runtime", "boto3", "botocore"),
    "audience": ("newswire.adapters", "newswire.handlers", "newswire.runtime", "boto3", "botocore"),
}


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_an_inner_layer_never_imports_an_outer_one(layer: str) -> None:
    found = {
        f"{path.name}: {module}"
        for path in sorted((PACKAGE / layer).glob("*.py"))
        for module in imported_modules(path)
        if module.startswith(FORBIDDEN[layer])
    }
    assert not found, f"{layer} imports what depends on it: {sorted(found)}"
