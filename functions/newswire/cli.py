"""The ``newswire`` command: build feeds from a content folder.

``newswire build CONTENT_DIR --out DIR`` reports every rejected article on stderr as
``path: field: what was wrong, expected …``, still publishes the valid ones, ends with a
one-line summary, and exits 1 when any article was rejected (2 when nothing could be built).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from newswire import __version__
from newswire.errors import NewswireError


def _parse_now(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError("--now needs a time zone, e.g. 2026-01-01T00:00:00Z")
    return parsed.astimezone(UTC)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newswire", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"newswire {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build every feed from a content folder")
    build.add_argument("content", type=Path, help="folder with site.yaml and articles/")
    build.add_argument("--out", type=Path, required=True, help="folder to write the feeds into")
    build.add_argument(
        "--now",
        type=_parse_now,
        default=None,
        help="judge drafts and scheduled articles at this time (default: now)",
    )
    return parser


def build_command(content: Path, out: Path, now: datetime | None) -> int:
    """Build ``content`` into ``out``; return the process exit status."""
    from newswire.adapters.local import LocalContent, LocalFeedTree
    from newswire.build import build_site
    from newswire.content.site import parse_site

    source = LocalContent(content)
    try:
        site = parse_site(source.site_key(), source.read_site())
    except NewswireError as e:
        print(f"newswire: {e}", file=sys.stderr)
        return 2
    report = build_site(source.iter_articles(), site, now or datetime.now(UTC))
    for error in report.rejected:
        print(error, file=sys.stderr)
    tree = LocalFeedTree(out)
    written = sum(tree.write(f.path, f.body) for f in report.files)
    removed = tree.prune(f.path for f in report.files)
    waiting = (
        f", {report.drafts} drafts, {report.scheduled} scheduled"
        if report.drafts or report.scheduled
        else ""
    )
    unchanged = len(report.files) - written
    print(
        f"newswire: {report.published} articles published, {len(report.rejected)} rejected"
        f"{waiting}; {len(report.files)} feed files in {out} ({written} written, "
        f"{unchanged} unchanged, {len(removed)} removed)",
        file=sys.stderr,
    )
    return 1 if report.rejected else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``newswire`` console script."""
    args = _parser().parse_args(argv)
    if args.command == "build":
        return build_command(args.content, args.out, args.now)
    raise AssertionError(args.command)  # argparse rejects unknown commands first


if __name__ == "__main__":
    sys.exit(main())
