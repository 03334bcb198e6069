"""Build the Lambda layer that carries newswire's runtime dependencies, without Docker.

The functions run Python 3.12 on arm64 (Graviton). pip can fetch wheels for another platform
than its own with ``--platform``/``--python-version``/``--implementation`` as long as it never
builds from source (``--only-binary=:all:``), so the layer is assembled here, on any machine:

1. read ``[project].dependencies`` from the repository's ``pyproject.toml``, the AWS SDK
   (boto3, botocore) included: the runtime's bundled SDK lags and changes without notice, and
   the feed writer needs S3 ``IfMatch`` on PutObject, so the layer carries its own (AWS's
   advice for production); layers come first on ``sys.path``, so it wins over the runtime's;
2. build wheels for the dependencies that ship only as an sdist (feedgen 1.0.0, pure Python);
3. ``pip install --target build/layer/python`` for CPython 3.12 on aarch64, accepting a wheel
   of every manylinux tag the runtime's glibc can load;
4. check that the layer's boto3 and botocore are at least :data:`SDK_MINIMUM`.

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
from collections.abc import Sequence
from pathlib import Path

from packaging.version import Version

INFRA_DIR = Path(__file__).resolve().parent
PYPROJECT = INFRA_DIR.parent / "pyproject.toml"
BUILD_DIR = INFRA_DIR / "build"
LAYER_DIR = BUILD_DIR / "layer"
STAMP = BUILD_DIR / "layer.sha256"

#: Target interpreter: Lambda ``python3.12`` on ``arm64``, which runs Amazon Linux 2023.
PYTHON_VERSION = "3.12"
ARCH = "aarch64"
#: Amazon Linux 2023's glibc (2.34): a manylinux wheel for any glibc up to it loads there.
RUNTIME_GLIBC = (2, 34)
#: manylinux2014 (the first policy with aarch64) is glibc 2.17.
OLDEST_GLIBC = (2, 17)


def manylinux_platforms(arch: str = ARCH, glibc: tuple[int, int] = RUNTIME_GLIBC) -> list[str]:
    """Every manylinux platform tag a system with ``glibc`` accepts for ``arch``.

    pip's ``--platform`` matches tags exactly (it widens only the legacy ``manylinux2014`` to
    older legacy names), so each PEP 600 tag from glibc 2.17 up is listed: a project that
    publishes only ``manylinux_2_24`` or ``manylinux_2_34`` wheels is then found too, instead
    of pip falling back to an older release or failing.
    """
    major, newest = glibc
    return [f"manylinux2014_{arch}"] + [
        f"manylinux_{major}_{minor}_{arch}" for minor in range(OLDEST_GLIBC[1], newest + 1)
    ]


PLATFORMS = tuple(manylinux_platforms())

#: The oldest boto3 and botocore whose S3 PutObject takes ``IfMatch`` (1.35.69, 2024-11-25):
#: the feed writer's conditional writes need it. ``pyproject.toml`` requires at least this
#: version of both (a test holds them equal) and every layer built is checked against it.
SDK_MINIMUM = "1.35.69"
SDK_PROJECTS = ("boto3", "botocore")

#: Dependencies published only as an sdist: a wheel is built for them first (pure Python).
SDIST_ONLY = frozenset({"feedgen"})

#: Bump when the recipe below changes in a way that changes the layer's content.
RECIPE_VERSION = 2


class LayerError(RuntimeError):
    """The built layer is not what the functions need (e.g. an AWS SDK too old)."""


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
    """The layer's requirements: the project's dependencies, the AWS SDK included.

    Args:
        pyproject: the ``pyproject.toml`` whose ``[project].dependencies`` are read; the
            repository's by default.

    Returns:
        Requirement strings in the order the project lists them.
    """
    with (pyproject or PYPROJECT).open("rb") as f:
        dependencies: list[str] = tomllib.load(f)["project"]["dependencies"]
    return list(dependencies)


def recipe_hash(requirements: Sequence[str]) -> str:
    """A stable hash of everything that decides the layer's content."""
    recipe = {
        "recipe": RECIPE_VERSION,
        "requirements": sorted(requirements),
        "python": PYTHON_VERSION,
        "platforms": PLATFORMS,
        "sdk_minimum": SDK_MINIMUM,
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


def _pip(*args: str) -> None:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    # The command is assembled here from constants and pyproject.toml; no shell is involved.
    subprocess.run(command, check=True)  # noqa: S603


def installed_versions(site_packages: Path) -> dict[str, str]:
    """Project name to version of what ``pip install --target`` put in ``site_packages``."""
    versions = {}
    for dist_info in site_packages.glob("*.dist-info"):
        name, _, version = dist_info.name.removesuffix(".dist-info").partition("-")
        versions[project_name(name)] = version
    return versions


def check_sdk(site_packages: Path, minimum: str = SDK_MINIMUM) -> None:
    """Refuse a layer whose boto3 or botocore is missing or older than ``minimum``.

    Raises:
        LayerError: naming each SDK project that is missing or too old.
    """
    versions = installed_versions(site_packages)
    problems = [
        f"{name} {versions.get(name, 'missing')}, expected >= {minimum}"
        for name in SDK_PROJECTS
        if name not in versions or Version(versions[name]) < Version(minimum)
    ]
    if problems:
        raise LayerError(f"{site_packages}: " + "; ".join(problems))


def build_layer(destination: Path, requirements: Sequence[str]) -> None:
    """Install ``requirements`` for Lambda arm64/Python 3.12 into ``destination/python``.

    The layer is built in a temporary directory next to ``destination`` and moved into place
    only when complete, so an interrupted build never leaves a half-filled layer behind.

    Raises:
        subprocess.CalledProcessError: if pip fails (e.g. no wheel exists for the platform).
        LayerError: if the layer's AWS SDK is older than :data:`SDK_MINIMUM`.
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
        check_sdk(site_packages)
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
