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


def test_requirements_keep_the_sdk_for_the_layer(tmp_path: Path) -> None:
    pyproject = write_pyproject(
        tmp_path / "pyproject.toml",
        ["feedgen==1.0.0", "boto3>=1.35.69", "botocore>=1.35.69", "PyYAML>=6.0"],
    )
    assert build_layer.runtime_requirements(pyproject) == [
        "feedgen==1.0.0",
        "boto3>=1.35.69",
        "botocore>=1.35.69",
        "PyYAML>=6.0",
    ]


def test_the_real_project_ships_boto3_and_botocore_in_the_layer() -> None:
    names = {build_layer.project_name(r) for r in build_layer.runtime_requirements()}
    assert {"feedgen", "boto3", "botocore"} <= names


def test_layer_accepts_every_manylinux_tag_of_the_runtime_glibc() -> None:
    # Lambda's python3.12 runs Amazon Linux 2023, glibc 2.34; aarch64 wheels start at 2.17.
    expected = ("manylinux2014_aarch64", *(f"manylinux_2_{m}_aarch64" for m in range(17, 35)))
    assert expected == build_layer.PLATFORMS


def fake_site_packages(path: Path, versions: dict[str, str]) -> Path:
    for name, version in versions.items():
        (path / f"{name}-{version}.dist-info").mkdir(parents=True)
    return path


def test_layer_with_the_minimum_sdk_passes(tmp_path: Path) -> None:
    site = fake_site_packages(
        tmp_path,
        {"boto3": build_layer.SDK_MINIMUM, "botocore": "1.40.2", "feedgen": "1.0.0"},
    )
    build_layer.check_sdk(site)


@pytest.mark.parametrize(
    ("versions", "problem"),
    [
        ({"boto3": "1.35.69", "botocore": "1.35.68"}, "botocore 1.35.68, expected >= 1.35.69"),
        ({"botocore": "1.36.0"}, "boto3 missing, expected >= 1.35.69"),
    ],
)
def test_layer_without_putobject_ifmatch_is_refused(
    tmp_path: Path, versions: dict[str, str], problem: str
) -> None:
    site = fake_site_packages(tmp_path, versions)
    with pytest.raises(build_layer.LayerError, match=problem):
        build_layer.check_sdk(site)


def test_hash_changes_with_the_dependency_list_but_not_its_order() -> None:
    a = build_layer.recipe_hash(["feedgen==1.0.0", "PyYAML>=6"])
    assert a == build_layer.recipe_hash(["PyYAML>=6", "feedgen==1.0.0"])
    assert a != build_layer.recipe_hash(["feedgen==1.0.0", "PyYAML>=6.1"])


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
