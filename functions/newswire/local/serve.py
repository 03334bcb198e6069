"""``newswire serve``: the whole pipeline on a laptop, with moto standing in for AWS.

What runs, all in this process, each part in its own module:

- moto's server on loopback (:class:`~newswire.local.moto_server.LocalAws`) holding the content
  bucket, the feeds bucket, the index table and the publish queue, created from
  :mod:`newswire.local.resources`: the same shape ``infra/`` deploys, S3 → SQS notifications
  included (moto delivers them for puts *and* deletes); the handlers find it through
  :mod:`newswire.local.environment`;
- a **poller** doing what Lambda's SQS event source mapping does (:mod:`newswire.local.poller`);
- a **watcher** that mirrors the content folder into the content bucket (so an edit is
  published within about two seconds) and reindexes when ``site.yaml`` changes
  (:mod:`newswire.local.watcher`), as the site-changed function starts the reindex in AWS; an
  invalid ``site.yaml`` starts nothing and is reported once (:class:`SiteProblems`), not by
  every part that needs it each time it runs;
- a **scheduler** that publishes scheduled articles as they come due
  (:mod:`newswire.local.scheduler`);
- an HTTP server for the feeds bucket, with the headers a CDN in front of S3 would give
  (:mod:`newswire.local.feedserver`).

:class:`LocalStack` starts and stops them. The terminal gets one line per event, not the
handlers' JSON (:mod:`newswire.local.terminal`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType, TracebackType
from typing import TextIO

from newswire.content.site import SITE_CONFIG_KEY
from newswire.domain.feeds import FeedFormat
from newswire.errors import NewswireError, SiteConfigError
from newswire.local.accesslog import AccessLog, default_path
from newswire.local.environment import REGION, HandlerEnvironment
from newswire.local.feedserver import IDLE_TIMEOUT, FeedsBucket, FeedServer
from newswire.local.moto_server import LocalAws
from newswire.local.poller import VISIBILITY_TIMEOUT, QueuePoller
from newswire.local.resources import ResourceNames, create_resources
from newswire.local.scheduler import SCHEDULE_INTERVAL, ScheduleTimer
from newswire.local.terminal import terminal_output
from newswire.local.watcher import ContentWatcher

__all__ = ["IDLE_TIMEOUT", "SCHEDULE_INTERVAL", "VISIBILITY_TIMEOUT", "LocalStack", "serve_command"]


class LocalStack:
    """moto, the publish pipeline and a feed server on ``host:port``.

    ``start()`` returns once the content folder is uploaded and every feed is built; edits
    to the folder, and writes through the S3 endpoint, are published from then on.
    ``stop()`` ends every thread and server. moto's state is global to the process: one
    stack at a time (``start`` resets it).

    Args:
        content_dir: folder with ``site.yaml`` and ``articles/``.
        host: the feed server's address.
        port: the feed server's port (0 picks a free one).
        out: where the banner and the one line per event (published, rejected, deleted) go.
        idle_timeout: seconds a connection may sit without sending a request.
        access_log: where to log each request in CloudFront's format (``newswire stats``
            reads it); None logs nothing.
    """

    def __init__(
        self,
        content_dir: Path,
        host: str = "127.0.0.1",
        port: int = 8080,
        *,
        out: TextIO | None = None,
        idle_timeout: float = IDLE_TIMEOUT,
        access_log: Path | None = None,
    ) -> None:
        self.content_dir = content_dir
        self.access_log = access_log
        self.idle_timeout = idle_timeout
        self.host = host
        self.port = port
        self.names = ResourceNames()  # the stack's own moto: the default names
        self._out = out
        self._say_lock = threading.Lock()
        self._stopping = threading.Event()
        self._aws: LocalAws | None = None
        self._http: FeedServer | None = None
        self._threads: list[threading.Thread] = []
        self._env = HandlerEnvironment()
        self._terminal = contextlib.ExitStack()
        self._startup_report: list[str] = []
        self._site_problems = SiteProblems()

    @property
    def url(self) -> str:
        """The feed server's base URL, ending in ``/``."""
        return f"http://{self.host}:{self.port}/"

    @property
    def endpoint_url(self) -> str:
        """The local AWS endpoint (S3, SQS, DynamoDB)."""
        if self._aws is None:
            raise NewswireError("the local stack is not running")
        return self._aws.endpoint_url

    def start(self) -> LocalStack:
        """Start everything; return once the feeds are built.

        Raises:
            NewswireError: the content folder has no ``site.yaml``, or a port is taken.
        """
        if not (self.content_dir / SITE_CONFIG_KEY).is_file():
            raise NewswireError(
                f"{self.content_dir}: no {SITE_CONFIG_KEY}, expected a content folder"
            )
        self._stopping.clear()
        try:
            self._http = FeedServer((self.host, self.port), self.idle_timeout)
        except OSError as e:
            raise NewswireError(
                f"cannot serve feeds on {self.host}:{self.port} ({e.strerror}); "
                "is newswire already running? choose another --port"
            ) from e
        self.port = int(self._http.server_address[1])
        try:
            self._start_pipeline(self._http)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_pipeline(self, http: FeedServer) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request lines
        self._aws = LocalAws("127.0.0.1", 0).start()
        self._env.point_at(self._aws.endpoint_url, self.names)
        self._aws.reset()

        from newswire.runtime import aws_client

        s3, sqs = aws_client("s3"), aws_client("sqs")
        queue = create_resources(
            s3, aws_client("dynamodb"), sqs, self.names, visibility_timeout=VISIBILITY_TIMEOUT
        )
        assert queue is not None  # given an SQS client, the queue is created
        watcher = ContentWatcher(
            self.content_dir,
            s3,
            self.names.content_bucket,
            on_site_change=functools.partial(_reindex, self._say, self._site_problems),
            say=self._say,
            stopping=self._stopping,
        )
        watcher.upload_all()
        self._startup_report.clear()
        _reindex(self._startup_report.append, self._site_problems)  # the banner shows it
        # The upload's notifications describe what the reindex already published.
        sqs.purge_queue(QueueUrl=queue.url)
        self._terminal.enter_context(terminal_output(self._say))
        on_site_error = functools.partial(self._site_problems.report, say=self._say)
        poller = QueuePoller(
            sqs, queue, say=self._say, on_site_error=on_site_error, stopping=self._stopping
        )
        scheduler = ScheduleTimer(
            say=self._say,
            on_site_error=on_site_error,
            on_site_valid=self._site_problems.clear,
            stopping=self._stopping,
        )
        bucket = FeedsBucket(s3, self.names, self.content_dir)
        if self.access_log is not None:
            http.access_log = self._terminal.enter_context(
                contextlib.closing(AccessLog(self.access_log))
            )
        for name, target in (
            ("newswire-poller", poller.run),
            ("newswire-watcher", watcher.run),
            ("newswire-scheduler", scheduler.run),
            ("newswire-http", functools.partial(http.serve, bucket)),
        ):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop the threads and servers and restore the environment; safe to call twice."""
        self._stopping.set()
        if self._http is not None:
            if any(t.name == "newswire-http" for t in self._threads):
                self._http.shutdown()
            self._http.server_close()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()
        self._terminal.close()
        if self._aws is not None:
            self._aws.stop()
        self._env.restore()
        self._http = self._aws = None

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def banner(self) -> str:
        """What ``newswire serve`` prints on start: where everything is, one fact a line."""
        endpoint = self.endpoint_url
        feeds = "".join(f"    {self.url}{fmt.filename}\n" for fmt in FeedFormat)
        report = "".join(f"{line}\n" for line in self._startup_report)
        access = (
            f"  access log: {self.access_log} (newswire stats reads it)\n"
            if self.access_log
            else ""
        )
        return (
            f"newswire: serving {self.content_dir} at {self.url}\n"
            f"{report}"
            f"  main feeds:\n{feeds}"
            f"  local AWS endpoint (S3, SQS, DynamoDB): {endpoint}\n"
            f"    region:         {REGION} (any credentials)\n"
            f"    content bucket: {self.names.content_bucket}\n"
            f"    feeds bucket:   {self.names.feeds_bucket}\n"
            f"    index table:    {self.names.index_table}\n"
            "  publish through S3, for example:\n"
            f"    export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing "
            f"AWS_DEFAULT_REGION={REGION}\n"
            f"    aws --endpoint-url {endpoint} s3 cp my-article.md "
            f"s3://{self.names.content_bucket}/articles/my-article.md\n"
            f"{access}"
            f"  edits in {self.content_dir} are published within 2 s; Ctrl-C stops."
        )

    def _say(self, line: str) -> None:
        """One terminal line; the threads take turns so lines never interleave."""
        with self._say_lock:
            out = self._out or sys.stdout
            print(line, file=out, flush=True)


class SiteProblems:
    """What the stack has said about an invalid ``site.yaml``: each problem once.

    The watcher's reindex, the scheduler (every few seconds) and each retried article event
    all need ``site.yaml``; while it is invalid the first to find out says why, and the others
    stay quiet until it changes or is valid again.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._said: str | None = None

    def report(self, error: SiteConfigError, say: Callable[[str], None]) -> None:
        """Say every problem of ``error``, unless this very error was said last."""
        with self._lock:
            if str(error) == self._said:
                return
            self._said = str(error)
        for line in str(error).splitlines():
            say(f"newswire: {line}")
        say(f"newswire: nothing is published until {error.key} is fixed")

    def clear(self) -> None:
        """``site.yaml`` is valid: should it break again, say so again."""
        with self._lock:
            self._said = None


def _reindex(say: Callable[[str], None], site_problems: SiteProblems) -> None:
    """Rebuild the index and every feed from the content bucket; ``say`` what it did."""
    from newswire.runtime import publisher_from_env

    try:
        publisher = publisher_from_env()
    except SiteConfigError as e:  # nothing is started: the feeds keep the last valid settings
        site_problems.report(e, say)
        return
    except NewswireError as e:
        say(f"newswire: {e} (nothing is published until it is fixed)")
        return
    site_problems.clear()
    try:
        report = publisher.reindex()
    except NewswireError as e:
        say(f"newswire: {e} (nothing is published until it is fixed)")
        return
    for error in report.rejected:
        say(f"newswire: rejected {error}")
    for warning in publisher.announce():
        say(f"newswire: {warning}")
    say(
        f"newswire: indexed {report.articles} articles, {len(report.rejected)} rejected, "
        f"{report.feeds_written} feed files written"
    )


def serve_command(
    content: Path,
    host: str,
    port: int,
    access_log: Path | None = None,
    *,
    log_requests: bool = True,
) -> int:
    """Run ``newswire serve`` until Ctrl-C or SIGTERM; return the exit status.

    ``log_requests=False`` (``--no-access-log``) writes no access log at all.
    """
    log = (access_log or default_path()) if log_requests else None
    stack = LocalStack(content, host, port, access_log=log)
    try:
        stack.start()
    except NewswireError as e:
        print(f"newswire: {e}", file=sys.stderr)
        return 2

    def _terminate(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        print(stack.banner(), flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("\nnewswire: stopping", file=sys.stderr, flush=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
        stack.stop()
    return 0
