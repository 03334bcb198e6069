"""Build the Lambda layer that carries newswire's runtime dependencies, without Docker.

The functions run Python 3.12 on arm64 (Graviton). pip can fetch wheels for another platform
than its own with ``--platform``/``--python-version``/``--implementation`` as long as it never
builds from source (``--only-binary=:all:``), so the layer is assembled here, on any machine:

1. read ``[project].dependencies`` from the repository's ``pyproject.toml``;
2. drop the AWS SDK, which the Lambda runtime ships in a matching boto3/botocore pair;
3. build wheels for the dependencies that ship only as an sdist (feedgen 1.0.0, pure Python);
4. ``pip install --target build/layer/python`` for manylinux aarch64, CPython 3.12;
5. prune any SDK package pulled in transitively (aws-xray-sdk depends on botocore): layers come
   first on ``sys.path``, so a botocore in the layer would shadow the runtime's and could
   mismatch the runtime's boto3.

The result is cached: ``build/layer.sha256`` holds a hash of the dependency list and of this
recipe, and a layer whose hash matches is reused without touching the network. Version ranges
(``>=``) are resolved when the layer is built; run with ``--force`` to pick up newer releases.

Usage (from anywhere)::

    python infra/build_layer.py            # build if needed, print the layer directory
    python infra/build_layer.py --force    # rebuild
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path

INFRA_DIR = Path(__file__).resolve().parent
PYPROJECT = INFRA_DIR.parent / "pyproject.toml"
BUILD_DIR = INFRA_DIR / "build"
LAYER_DIR = BUILD_DIR / "layer"
STAMP = BUILD_DIR / "layer.sha256"

#: Target interpreter and platform: Lambda ``python3.12`` on ``arm64`` runs Amazon Linux 2023
#: (glibc 2.34), so both the manylinux2014 (glibc 2.17) and manylinux_2_28 wheels load there.
PYTHON_VERSION = "3.12"
PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")

#: The AWS SDK and its dependencies, as the Lambda runtime ships them: never put in the layer
#: (see step 5 above). urllib3 is here only because botocore pulls it in.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "urllib3"})

#: Dependencies published only as an sdist: a wheel is built for them first (pure Python).
SDIST_ONLY = frozenset({"feedgen"})

#: botocore (runtime-provided) needs python-dateutil < 3; keep the layer's copy compatible.
DATEUTIL_PIN = "python-dateutil<3"

#: Bump when the recipe below changes in a way that changes the layer's content.
RECIPE_VERSION = 1

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def project_name(requirement: str) -> str:
    """The canonical (PEP 503) project name of a requirement string such as ``PyYAML>=6``.

    Raises:
        ValueError: if the string does not start with a project name.
    """
    match = _NAME.match(requirement)
    if match is None:
        raise ValueError(f"not a requirement: {requirement!r}")
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def runtime_requirements(pyproject: Path | None = None) -> list[str]:
    """The layer's requirements: the project's dependencies minus what the runtime ships.

    Args:
        pyproject: the ``pyproject.toml`` whose ``[project].dependencies`` are read; the
            repository's by default.

    Returns:
        Requirement strings in the order the project lists them, plus the dateutil pin if the
        project does not constrain python-dateutil itself.
    """
    with (pyproject or PYPROJECT).open("rb") as f:
        dependencies: list[str] = tomllib.load(f)["project"]["dependencies"]
    requirements = [r for r in dependencies if project_name(r) not in RUNTIME_PROVIDED]
    if not any(project_name(r) == "python-dateutil" for r in requirements):
        requirements.append(DATEUTIL_PIN)
    return requirements


def recipe_hash(requirements: Sequence[str]) -> str:
    """A stable hash of everything that decides the layer's content."""
    recipe = {
        "recipe": RECIPE_VERSION,
        "requirements": sorted(requirements),
        "python": PYTHON_VERSION,
        "platforms": PLATFORMS,
        "pruned": sorted(RUNTIME_PROVIDED),
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


def _pip(*args: str) -> None:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    # The command is assembled here from constants and pyproject.toml; no shell is involved.
    subprocess.run(command, check=True)  # noqa: S603


def _prune(site_packages: Path, projects: Iterable[str]) -> list[str]:
    """Delete installed projects (their modules and dist-info) from a ``--target`` directory."""
    removed: list[str] = []
    for dist_info in sorted(site_packages.glob("*.dist-info")):
        name = project_name(dist_info.name.split("-")[0])
        if name not in projects:
            continue
        record = dist_info / "RECORD"
        # RECORD lists every installed file; entries outside the target (console scripts
        # under ``../../bin``) are skipped.
        top_levels = {
            Path(line.split(",")[0]).parts[0]
            for line in record.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("..")
        }
        for top in top_levels:
            path = site_packages / top
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        removed.append(name)
    return removed


def build_layer(destination: Path, requirements: Sequence[str]) -> None:
    """Install ``requirements`` for Lambda arm64/Python 3.12 into ``destination/python``.

    The layer is built in a temporary directory next to ``destination`` and moved into place
    only when complete, so an interrupted build never leaves a half-filled layer behind.

    Raises:
        subprocess.CalledProcessError: if pip fails (e.g. no wheel exists for the platform).
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=destination.parent, prefix=".layer-") as tmp:
        wheels = Path(tmp) / "wheels"
        staging = Path(tmp) / "layer"
        site_packages = staging / "python"
        sdists = [r for r in requirements if project_name(r) in SDIST_ONLY]
        if sdists:
            _pip("wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels), *sdists)
        platform_args = [arg for p in PLATFORMS for arg in ("--platform", p)]
        _pip(
            "install",
            "--quiet",
            "--no-compile",
            "--only-binary=:all:",
            *platform_args,
            "--python-version",
            PYTHON_VERSION,
            "--implementation",
            "cp",
            "--target",
            str(site_packages),
            "--find-links",
            str(wheels),
            *requirements,
        )
        _prune(site_packages, RUNTIME_PROVIDED)
        # Console scripts (``bin/``) and bytecode caches are of no use in a layer.
        shutil.rmtree(site_packages / "bin", ignore_errors=True)
        for cache in site_packages.rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)
        if destination.exists():
            shutil.rmtree(destination)
        staging.rename(destination)


def ensure_layer(*, force: bool = False) -> Path:
    """Return the layer directory, building it only if the dependency list changed.

    Args:
        force: rebuild even if a layer for the same dependency list exists.

    Returns:
        ``infra/build/layer``, which contains ``python/`` as Lambda layers expect.
    """
    requirements = runtime_requirements()
    wanted = recipe_hash(requirements)
    current = STAMP.read_text(encoding="utf-8").strip() if STAMP.exists() else None
    if force or current != wanted or not (LAYER_DIR / "python").is_dir():
        print(f"building Lambda layer for {', '.join(requirements)}", file=sys.stderr)
        STAMP.unlink(missing_ok=True)
        build_layer(LAYER_DIR, requirements)
        STAMP.write_text(wanted + "\n", encoding="utf-8")
    return LAYER_DIR


def directory_size(path: Path) -> int:
    """Total size in bytes of the files under ``path``."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if cached")
    args = parser.parse_args(argv)
    layer = ensure_layer(force=args.force)
    size_mib = directory_size(layer) / 2**20
    print(f"{layer} ({size_mib:.1f} MiB unzipped)", file=sys.stderr)
    print(layer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
