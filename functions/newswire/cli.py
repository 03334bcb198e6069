"""The ``newswire`` command: build feeds from a content folder.

``newswire build CONTENT_DIR --out DIR`` reports every rejected article on stderr as
``path: field: what was wrong, expected …``, still publishes the valid ones, ends with a
one-line summary, and exits 1 when any article was rejected (2 when nothing could be built,
or a file it did not write was in the way of a feed). It replaces and removes only files an
earlier build wrote into ``DIR`` (see :class:`~newswire.adapters.local.LocalFeedTree`).

``newswire check CONTENT_DIR`` lists what each partner enabled in ``site.yaml`` would refuse
or downgrade (:mod:`newswire.check`), and exits 1 when it lists anything.

``newswire serve CONTENT_DIR`` runs the whole pipeline on moto and serves the feeds over HTTP.

``newswire reindex`` rebuilds the index and every feed from the content bucket in AWS, from
this machine; ``newswire reindex --deployed`` starts the deployed reindex (Step Functions) and
follows it (:mod:`newswire.deployed`).

``newswire redrive`` sends the dead-letter queue's article events back to the article queue.

``newswire stats LOG...`` counts each feed's subscribers from CloudFront standard log files
(:mod:`newswire.audience.command`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from newswire import __version__, deployed, redrive
from newswire.audience import command as audience_command
from newswire.domain.text import counted
from newswire.errors import NewswireError, StorageError

if TYPE_CHECKING:
    from newswire.adapters.local import Pruned
    from newswire.build import BuildReport


def _parse_now(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError("--now needs a time zone, e.g. 2026-01-01T00:00:00Z")
    return parsed.astimezone(UTC)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newswire", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"newswire {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_build(commands)
    check = commands.add_parser(
        "check", help="list what each enabled partner would refuse or downgrade"
    )
    check.add_argument("content", type=Path, help="folder with site.yaml and articles/")
    check.add_argument(
        "--now", type=_parse_now, default=None, help="judge the articles at this time"
    )
    _add_serve(commands)
    _add_reindex(commands)
    redrive.add_parser(commands)
    audience_command.add_parser(commands, _parse_now)
    return parser


def _add_build(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    build = commands.add_parser("build", help="build every feed from a content folder")
    build.add_argument("content", type=Path, help="folder with site.yaml and articles/")
    build.add_argument("--out", type=Path, required=True, help="folder to write the feeds into")
    build.add_argument(
        "--now",
        type=_parse_now,
        default=None,
        help="judge scheduled and expiring articles and tombstones at this time (default: now)",
    )
    build.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="processes that parse and render (default: one per CPU core and one more, at most 8)",
    )
    build.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="cache folder: unchanged files are not parsed again (default: ~/.cache/newswire/…)",
    )
    build.add_argument(
        "--no-cache", action="store_true", help="parse and render everything, keep no cache"
    )


def _add_serve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser("serve", help="run the whole pipeline locally on moto")
    serve.add_argument("content", type=Path, help="folder with site.yaml and articles/")
    serve.add_argument("--host", default="127.0.0.1", help="address to serve feeds on")
    serve.add_argument("--port", type=int, default=8080, help="port to serve feeds on")
    logging = serve.add_mutually_exclusive_group()
    logging.add_argument(
        "--access-log",
        type=Path,
        default=None,
        help="log requests here in CloudFront's format (default: "
        "$XDG_STATE_HOME/newswire/access.log)",
    )
    logging.add_argument(
        "--no-access-log",
        action="store_true",
        help="log no requests (the access log holds readers' addresses)",
    )


def _add_reindex(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    reindex = commands.add_parser(
        "reindex",
        help="rebuild the index and every feed from the content bucket (AWS credentials from "
        "the environment, as for the AWS CLI)",
    )
    for option, variable, what in (
        ("--content-bucket", "CONTENT_BUCKET", "the content bucket"),
        ("--feeds-bucket", "FEEDS_BUCKET", "the feeds bucket"),
        ("--table", "INDEX_TABLE", "the index table"),
    ):
        reindex.add_argument(
            option, default=os.environ.get(variable), help=f"{what} (default: ${variable})"
        )
    reindex.add_argument(
        "--site-config-key",
        default=os.environ.get("SITE_CONFIG_KEY") or "site.yaml",
        help="key of site.yaml in the content bucket",
    )
    deployed.add_arguments(reindex)


def build_command(
    content: Path,
    out: Path,
    now: datetime | None,
    *,
    jobs: int | None = None,
    cache_dir: Path | None = None,
    use_cache: bool = True,
) -> int:
    """Build ``content`` into ``out``; return the process exit status."""
    from newswire.adapters.local import LocalContent, LocalFeedTree
    from newswire.build import build_site
    from newswire.buildcache import BuildCache, default_folder
    from newswire.buildworkers import collect_rarely
    from newswire.content.site import parse_site

    unsafe = unsafe_output(content, out)
    if unsafe is not None:
        print(
            f"newswire: --out {out}: {unsafe}; build into a folder of its own, e.g. public",
            file=sys.stderr,
        )
        return 2
    collect_rarely()  # before the cache index is loaded: its objects live to the end
    source = LocalContent(content)
    try:
        site = parse_site(source.site_key(), source.read_site())
        tree = LocalFeedTree(out)
    except NewswireError as e:
        print(f"newswire: {e}", file=sys.stderr)
        return 2
    if tree.problem is not None:
        print(f"newswire: {tree.problem}", file=sys.stderr)
    try:
        cache = (
            BuildCache.open(cache_dir or default_folder(out), site, output=out)
            if use_cache
            else None
        )
        report = build_site(
            source.article_files(),
            site,
            now or datetime.now(UTC),
            cache=cache,
            jobs=jobs or _default_jobs(),
            sink=tree.write,
        )
        refused = set(report.refused)
        pruned = tree.finish(p for p in report.paths if p not in refused)
        if cache is not None:
            cache.save(unwritten=refused)
    except StorageError as e:  # a full disk, a folder that cannot be written
        print(f"newswire: {e}", file=sys.stderr)
        return 2
    _print_report(report, pruned, out, has_manifest=tree.has_manifest)
    if refused:
        return 2
    return 1 if report.rejected else 0


def _print_report(report: BuildReport, pruned: Pruned, out: Path, *, has_manifest: bool) -> None:
    """Tell the user, on stderr, what went wrong per file and what the build did in one line."""
    from newswire.adapters.local import MANIFEST_FILE

    refused = set(report.refused)
    for error in report.rejected:
        print(error, file=sys.stderr)
    for warning in report.warnings:
        print(warning, file=sys.stderr)
    for path in pruned.kept:
        print(f"newswire: kept {out / path}: changed since newswire wrote it", file=sys.stderr)
    for path in report.refused:
        print(
            f"newswire: {out / path}: not written: a file newswire did not write is in the way "
            "(move it away, or build into another --out)",
            file=sys.stderr,
        )
    if refused and not has_manifest:
        print(
            f"newswire: {out} has no {MANIFEST_FILE}: files an older newswire wrote there count "
            "as someone else's; delete them (or the folder) once",
            file=sys.stderr,
        )
    if report.partner_findings is not None:
        print(
            f"newswire: {counted(report.partner_findings, 'thing')} partners would refuse or "
            "downgrade "
            "(newswire check lists them)",
            file=sys.stderr,
        )
    written = report.written
    waiting = (
        f", {report.drafts} drafts, {report.scheduled} scheduled"
        if report.drafts or report.scheduled
        else ""
    )
    waiting += "".join(
        f", {count} {what}"
        for count, what in ((report.withdrawn, "withdrawn"), (report.expired, "expired"))
        if count
    )
    unchanged = len(report.paths) - written - len(refused)
    print(
        f"newswire: {report.published} articles published, {len(report.rejected)} rejected"
        f"{waiting}; {len(report.paths)} feed files in {out} ({written} written, "
        f"{unchanged} unchanged, {len(pruned.removed)} removed"
        f"{f', {len(refused)} refused' if refused else ''})",
        file=sys.stderr,
    )


def unsafe_output(content: Path, out: Path) -> str | None:
    """Why ``out`` must not receive a build of ``content``, or ``None`` if it may.

    A build replaces and removes files in its output folder: never in the content it reads
    (an article may be named ``feed.json``), and never in a folder that holds far more than
    feeds (the file system's root, the home folder, a folder around the content).
    """
    target = out.resolve()
    source = content.resolve()
    if target == Path(target.anchor):
        return "is the root folder"
    try:
        home = Path.home().resolve()
    except (RuntimeError, KeyError):  # no home folder known
        home = None
    if target == home:
        return "is the home folder"
    if target == source:
        return f"is the content folder ({content})"
    if target.is_relative_to(source):
        return f"is inside the content folder ({content})"
    if source.is_relative_to(target):
        return f"holds the content folder ({content})"
    return None


def _default_jobs() -> int:
    """One worker process per core this process may run on, and one more (the build caps it).

    A busy worker is off its core now and then, waiting for the page cache to take its
    writes or for the parent to take its turn: one worker more keeps every core busy
    meanwhile (measured: benchmarks/RESULTS.md, "Measured choices"). A single core builds in
    one process: forking would cost more than it saves.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return cores + 1 if cores > 1 else 1


def reindex_command(
    content_bucket: str | None, feeds_bucket: str | None, table: str | None, site_config_key: str
) -> int:
    """Rebuild the index and every feed from the content bucket; return the exit status.

    What the reindex Lambda does, run from a laptop or CI with the caller's credentials: after a
    ``site.yaml`` change, or to recover from lost events. Rejected articles are listed like
    ``newswire build`` lists them, and make the exit status 1.
    """
    from newswire.runtime import Settings, publisher_from_env

    missing = [
        option
        for option, value in (
            ("--content-bucket", content_bucket),
            ("--feeds-bucket", feeds_bucket),
            ("--table", table),
        )
        if not value
    ]
    if missing:
        print(f"newswire: reindex needs {', '.join(missing)} (or their variables)", file=sys.stderr)
        return 2
    assert content_bucket and feeds_bucket and table
    settings = Settings(content_bucket, feeds_bucket, table, site_config_key)
    try:
        publisher = publisher_from_env(settings)
        report = publisher.reindex()
    except NewswireError as e:
        print(f"newswire: {e}", file=sys.stderr)
        return 2
    for error in report.rejected:
        print(error, file=sys.stderr)
    for warning in publisher.announce():
        print(f"newswire: {warning}", file=sys.stderr)
    print(
        f"newswire: reindexed {report.articles} articles, {len(report.rejected)} rejected; "
        f"{report.feeds_written} files written to s3://{feeds_bucket}",
        file=sys.stderr,
    )
    return 1 if report.rejected else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``newswire`` command; return its exit status (see :func:`run`)."""
    args = _parser().parse_args(argv)
    if args.command == "build":
        return build_command(
            args.content,
            args.out,
            args.now,
            jobs=args.jobs,
            cache_dir=args.cache,
            use_cache=not args.no_cache,
        )
    if args.command == "check":
        from newswire.check import check_command

        return check_command(args.content, args.now or datetime.now(UTC))
    if args.command == "reindex" and args.deployed:
        return deployed.reindex_deployed_command(args.state_machine_arn, args.outputs)
    if args.command == "reindex":
        return reindex_command(
            args.content_bucket, args.feeds_bucket, args.table, args.site_config_key
        )
    if args.command == "redrive":
        return redrive.redrive_command(args.dead_letter_queue_url)
    if args.command == "stats":
        return audience_command.stats_command(
            args.logs, days=args.days, now=args.now, as_json=args.json, html=args.html
        )
    if args.command == "serve":
        from newswire.local.serve import serve_command

        return serve_command(
            args.content, args.host, args.port, args.access_log, log_requests=not args.no_access_log
        )
    raise AssertionError(args.command)  # argparse rejects unknown commands first


def run() -> NoReturn:
    """The ``newswire`` console script: :func:`main`, its status the process's.

    A normal exit (flushed streams, atexit handlers, finalizers): the teardown it costs after
    a build is less than a shortcut must save (measured: benchmarks/RESULTS.md).
    """
    sys.exit(main())


if __name__ == "__main__":
    run()
