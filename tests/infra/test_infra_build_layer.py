"""The layer build: which requirements go in, what is pruned, when it is rebuilt (no network)."""

from __future__ import annotations

from pathlib import Path

import build_layer  # from infra/, which conftest puts on sys.path
import pytest


def write_pyproject(path: Path, dependencies: list[str]) -> Path:
    listed = ", ".join(f'"{d}"' for d in dependencies)
    path.write_text(f'[project]\nname = "x"\ndependencies = [{listed}]\n', encoding="utf-8")
    return path


def test_project_name_is_canonical() -> None:
    assert build_layer.project_name("PyYAML>=6.0") == "pyyaml"
    assert build_layer.project_name("aws-lambda-powertools[tracer]>=3") == "aws-lambda-powertools"
    assert build_layer.project_name("markdown_it.py") == "markdown-it-py"


def test_requirements_leave_out_the_sdk_the_runtime_ships(tmp_path: Path) -> None:
    pyproject = write_pyproject(
        tmp_path / "pyproject.toml",
        ["feedgen==1.0.0", "boto3>=1.35", "python-dateutil>=2.8,<3", "PyYAML>=6.0"],
    )
    assert build_layer.runtime_requirements(pyproject) == [
        "feedgen==1.0.0",
        "python-dateutil>=2.8,<3",
        "PyYAML>=6.0",
    ]


def test_requirements_pin_dateutil_for_botocore_when_project_does_not(tmp_path: Path) -> None:
    pyproject = write_pyproject(tmp_path / "pyproject.toml", ["feedgen==1.0.0"])
    assert build_layer.runtime_requirements(pyproject) == ["feedgen==1.0.0", "python-dateutil<3"]


def test_the_real_project_requirements_build_a_layer_without_boto3() -> None:
    requirements = build_layer.runtime_requirements()
    names = {build_layer.project_name(r) for r in requirements}
    assert "feedgen" in names
    assert names.isdisjoint(build_layer.RUNTIME_PROVIDED)


def test_hash_changes_with_the_dependency_list_but_not_its_order() -> None:
    a = build_layer.recipe_hash(["feedgen==1.0.0", "PyYAML>=6"])
    assert a == build_layer.recipe_hash(["PyYAML>=6", "feedgen==1.0.0"])
    assert a != build_layer.recipe_hash(["feedgen==1.0.0", "PyYAML>=6.1"])


def test_prune_removes_modules_and_metadata_of_runtime_packages(tmp_path: Path) -> None:
    for project, module in (("botocore", "botocore"), ("feedgen", "feedgen")):
        (tmp_path / module).mkdir()
        (tmp_path / module / "__init__.py").write_text("")
        info = tmp_path / f"{project}-1.0.dist-info"
        info.mkdir()
        (info / "RECORD").write_text(
            f"{module}/__init__.py,,\n{info.name}/RECORD,,\n../../bin/{module},,\n"
        )
    assert build_layer._prune(tmp_path, {"botocore"}) == ["botocore"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feedgen", "feedgen-1.0.dist-info"]


def test_layer_is_rebuilt_only_when_dependencies_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds: list[list[str]] = []

    def fake_build(destination: Path, requirements: list[str]) -> None:
        (destination / "python").mkdir(parents=True, exist_ok=True)
        builds.append(list(requirements))

    pyproject = write_pyproject(tmp_path / "pyproject.toml", ["feedgen==1.0.0"])
    monkeypatch.setattr(build_layer, "PYPROJECT", pyproject)
    monkeypatch.setattr(build_layer, "LAYER_DIR", tmp_path / "build" / "layer")
    monkeypatch.setattr(build_layer, "STAMP", tmp_path / "build" / "layer.sha256")
    monkeypatch.setattr(build_layer, "build_layer", fake_build)

    layer = build_layer.ensure_layer()
    assert layer == tmp_path / "build" / "layer"
    build_layer.ensure_layer()
    assert len(builds) == 1, "same dependencies: the cached layer is reused"

    write_pyproject(pyproject, ["feedgen==1.0.0", "nh3>=0.3"])
    build_layer.ensure_layer()
    assert len(builds) == 2, "a changed dependency list rebuilds"
    build_layer.ensure_layer(force=True)
    assert len(builds) == 3
