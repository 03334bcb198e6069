"""``newswire serve``: the whole pipeline on a laptop, with moto standing in for AWS.

What runs, all in this process:

- moto's server on loopback (:class:`~newswire.local.moto_server.LocalAws`) holding the content
  bucket, the feeds bucket, the index table and the publish queue, created from
  :mod:`newswire.local.resources`: the same shape ``infra/`` deploys, S3 → SQS notifications
  included (moto delivers them for puts *and* deletes);
- a **poller** doing what Lambda's SQS event source mapping does: receive up to 10 messages,
  call :func:`newswire.handlers.publish.handler` with the SQS batch event, delete the messages
  that succeeded and leave the ``batchItemFailures`` to reappear after a short visibility timeout;
- a **watcher** that mirrors the content folder into the content bucket (so an edit is
  published within about two seconds) and reindexes when ``site.yaml`` changes;
- an HTTP server for the feeds bucket, with the headers a CDN in front of S3 would give:
  ``ETag``, ``Last-Modified``, ``Cache-Control``, 304s and gzip; ``feed.xsl`` (the feeds'
  browser view) comes from the package while the bucket has none; it queues a burst of
  readers and closes connections that stay silent past ``idle_timeout``.

The terminal gets one line per event, not the handlers' JSON (:mod:`newswire.local.terminal`).
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import html
import json
import logging
import os
import signal
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import quote, unquote, urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from newswire.content.site import SITE_CONFIG_KEY
from newswire.domain.feeds import FeedFormat, is_feed_path
from newswire.errors import NewswireError
from newswire.local.moto_server import LocalAws
from newswire.local.resources import CreatedQueue, ResourceNames, create_resources
from newswire.local.terminal import discard_metrics, terminal_output
from newswire.rendering.stylesheet import (
    STYLESHEET_CONTENT_TYPE,
    STYLESHEET_PATH,
    browser_content_type,
    stylesheet_file,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

REGION = "us-east-1"
#: Seconds a message the handler failed stays hidden before SQS offers it again.
VISIBILITY_TIMEOUT = 2
#: How often the content folder is compared with its last snapshot.
WATCH_INTERVAL = 0.5
#: How long the poller rests after an empty receive. moto's server runs one request at a time,
#: so a long poll (``WaitTimeSeconds``) would stall every other request; short polls don't.
POLL_INTERVAL = 0.2
#: How often the scheduler publishes what has come due (EventBridge does it every minute in
#: AWS; locally a writer should not wait that long to see a scheduled article go out).
SCHEDULE_INTERVAL = 5.0
#: Seconds the feed server waits for a request on an open connection before closing it, so
#: idle keep-alive and half-open connections give their threads back.
IDLE_TIMEOUT = 30.0
#: Connections the kernel queues while the server accepts: a burst of readers polling at once.
LISTEN_BACKLOG = 1024
#: Feed reads in flight at once: botocore's default connection pool, which warns (on the
#: terminal) about every connection beyond it.
_FEED_READS_IN_FLIGHT = 10
#: File names the watcher leaves alone: editor backups and swap files.
_IGNORED_SUFFIXES = ("~", ".swp", ".swx", ".tmp")
#: What S3 answers for an object written without a Content-Type.
_UNTYPED = frozenset({"", "binary/octet-stream", "application/octet-stream"})
#: The Powertools settings the handlers run with locally (their logs and metrics are turned
#: into terminal lines by :func:`~newswire.local.terminal.terminal_output`).
_HANDLER_ENV = {
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_METRICS_NAMESPACE": "Newswire",
}


@dataclass(frozen=True, slots=True)
class LocalLambdaContext:
    """The part of Lambda's context object the handler's Powertools decorators read."""

    aws_request_id: str
    function_name: str = "newswire-publish-local"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = (
        f"arn:aws:lambda:{REGION}:123456789012:function:newswire-publish-local"
    )

    def get_remaining_time_in_millis(self) -> int:
        """Lambda's budget; locally there is no deadline."""
        return 900_000


def _apply_env(env: Mapping[str, str | None]) -> None:
    """Set (or, for ``None``, remove) environment variables; clients made before are stale."""
    from newswire.runtime import clear_clients

    for name, value in env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    clear_clients()


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
    """

    def __init__(
        self,
        content_dir: Path,
        host: str = "127.0.0.1",
        port: int = 8080,
        *,
        out: TextIO | None = None,
        idle_timeout: float = IDLE_TIMEOUT,
    ) -> None:
        self.content_dir = content_dir
        self.idle_timeout = idle_timeout
        self.host = host
        self.port = port
        self.names = ResourceNames()  # the stack's own moto: the default names
        self._out = out
        self._say_lock = threading.Lock()
        self._stopping = threading.Event()
        self._aws: LocalAws | None = None
        self._http: _FeedServer | None = None
        self._threads: list[threading.Thread] = []
        self._saved_env: dict[str, str | None] = {}
        self._queue: CreatedQueue | None = None
        self._sequencers: dict[str, str] = {}
        self._sequence = 0
        self._terminal = contextlib.ExitStack()
        self._startup_report: list[str] = []
        self._s3: Any = None
        self._feed_reads = threading.BoundedSemaphore(_FEED_READS_IN_FLIGHT)
        self._sqs: Any = None

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
            self._http = _FeedServer((self.host, self.port), self)
        except OSError as e:
            raise NewswireError(
                f"cannot serve feeds on {self.host}:{self.port} ({e.strerror}); "
                "is newswire already running? choose another --port"
            ) from e
        self.port = int(self._http.server_address[1])
        try:
            self._start_pipeline()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_pipeline(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request lines
        self._aws = LocalAws("127.0.0.1", 0).start()
        self._set_env()
        _reset_moto(self._aws.endpoint_url)

        from newswire.runtime import aws_client

        self._s3 = aws_client("s3")
        self._sqs = aws_client("sqs")
        self._queue = create_resources(
            self._s3,
            aws_client("dynamodb"),
            self._sqs,
            self.names,
            visibility_timeout=VISIBILITY_TIMEOUT,
        )
        snapshot = _snapshot(self.content_dir)
        for key in sorted(snapshot):
            self._upload(key)
        self._startup_report.clear()
        self._reindex(self._startup_report.append)  # the banner shows it
        # The upload's notifications describe what the reindex already published.
        self._sqs.purge_queue(QueueUrl=self._require_queue().url)
        self._terminal.enter_context(terminal_output(self._say))
        for name, target, args in (
            ("newswire-poller", self._poll, ()),
            ("newswire-watcher", self._watch, (snapshot,)),
            ("newswire-scheduler", self._schedule, ()),
            ("newswire-http", self._require_http().serve_forever, ()),
        ):
            thread = threading.Thread(target=target, args=args, name=name, daemon=True)
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
        self._restore_env()
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
            f"  edits in {self.content_dir} are published within 2 s; Ctrl-C stops."
        )

    # -- environment ------------------------------------------------------------------------

    def _set_env(self) -> None:
        env: dict[str, str | None] = {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_PROFILE": None,  # a profile would override the fake credentials
            "CONTENT_BUCKET": self.names.content_bucket,
            "FEEDS_BUCKET": self.names.feeds_bucket,
            "INDEX_TABLE": self.names.index_table,
            "SITE_CONFIG_KEY": SITE_CONFIG_KEY,
            **_HANDLER_ENV,
        }
        for name in env:
            self._saved_env.setdefault(name, os.environ.get(name))
        _apply_env(env)

    def _restore_env(self) -> None:
        _apply_env(self._saved_env)
        self._saved_env.clear()

    # -- output -----------------------------------------------------------------------------

    def _say(self, line: str) -> None:
        with self._say_lock:
            out = self._out or sys.stdout
            print(line, file=out, flush=True)

    # -- content folder → content bucket ------------------------------------------------------

    def _upload(self, key: str) -> bool:
        try:
            body = (self.content_dir / key).read_bytes()
        except OSError:
            return False  # gone again since the snapshot; the next one will say so
        self._s3.put_object(Bucket=self.names.content_bucket, Key=key, Body=body)
        return True

    def _watch(self, snapshot: dict[str, tuple[int, int]]) -> None:
        while not self._stopping.wait(WATCH_INTERVAL):
            try:
                snapshot = self._sync(snapshot)
            except Exception as e:  # keep watching whatever went wrong
                self._say(f"newswire: watching {self.content_dir} failed: {e}")

    def _sync(self, before: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
        """Mirror what changed since ``before`` into the content bucket; the new snapshot."""
        now = _snapshot(self.content_dir)
        changed = sorted(k for k, stamp in now.items() if before.get(k) != stamp)
        removed = sorted(k for k in before if k not in now)
        for key in changed:
            self._upload(key)
        for key in removed:
            self._s3.delete_object(Bucket=self.names.content_bucket, Key=key)
        if SITE_CONFIG_KEY in changed:
            self._reindex()
        return now

    def _schedule(self) -> None:
        """What the every-minute EventBridge rule does in AWS: run the schedule handler."""
        from newswire.handlers import schedule

        event = {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
        while not self._stopping.wait(SCHEDULE_INTERVAL):
            try:
                context = LocalLambdaContext(aws_request_id=str(uuid.uuid4()))
                result = schedule.handler(event, context)
            except Exception as e:  # keep the timer running whatever one run hit
                self._say(f"newswire: publishing scheduled articles failed: {e}")
                continue
            finally:
                discard_metrics()
            for key in result["published"]:
                self._say(f"newswire: published scheduled article {key}")

    def _reindex(self, say: Callable[[str], None] | None = None) -> None:
        """Rebuild the index and every feed from the content bucket; ``say`` what it did."""
        from newswire.runtime import publisher_from_env

        say = say or self._say
        try:
            publisher = publisher_from_env()
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

    # -- the queue → the publish handler (Lambda's SQS poller) ----------------------------------

    def _require_queue(self) -> CreatedQueue:
        if self._queue is None:
            raise NewswireError("the local stack is not running")
        return self._queue

    def _require_http(self) -> _FeedServer:
        if self._http is None:
            raise NewswireError("the local stack is not running")
        return self._http

    def _poll(self) -> None:
        sqs: SQSClient = self._sqs
        queue = self._require_queue()
        while not self._stopping.is_set():
            try:
                messages = sqs.receive_message(
                    QueueUrl=queue.url,
                    MaxNumberOfMessages=10,
                    WaitTimeSeconds=0,
                    MessageSystemAttributeNames=["All"],
                ).get("Messages", [])
            except (BotoCoreError, ClientError) as e:
                if not self._stopping.is_set():
                    self._say(f"newswire: cannot read the queue: {e}")
                self._stopping.wait(1)
                continue
            if messages:
                self._invoke(messages)
            else:
                self._stopping.wait(POLL_INTERVAL)

    def _invoke(self, messages: list[MessageTypeDef]) -> None:
        """One Lambda invocation: call the handler, delete what it did not report failed."""
        from newswire.handlers.publish import handler

        event = {"Records": [self._sqs_record(m) for m in messages]}
        try:
            response = handler(event, LocalLambdaContext(aws_request_id=str(uuid.uuid4())))
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        except Exception as e:  # the whole batch failed: SQS redelivers every message
            self._say(f"newswire: publish failed, retrying in {VISIBILITY_TIMEOUT} s: {e}")
            return
        finally:
            discard_metrics()
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self._require_queue().url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
                ],
            )

    def _sqs_record(self, message: MessageTypeDef) -> dict[str, Any]:
        """The record Lambda's SQS event source would pass for ``message``."""
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": self._with_sequencers(message["MessageId"], message["Body"]),
            "attributes": dict(message.get("Attributes", {})),
            "messageAttributes": {},
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self._require_queue().arn,
            "awsRegion": REGION,
        }

    def _with_sequencers(self, message_id: str, body: str) -> str:
        """Give moto's S3 records the ``sequencer`` real S3 sends (moto leaves it out).

        The publisher orders changes of one key by sequencer; without it every change after the
        first would look like a redelivery. The value is the event time in milliseconds, then
        the order this stack first saw the message, and stays the same when it is redelivered.
        """
        try:
            parsed = json.loads(body)
        except ValueError:
            return body
        records = parsed.get("Records") if isinstance(parsed, dict) else None
        if not isinstance(records, list):
            return body
        for position, record in enumerate(records):
            s3_object = record.get("s3", {}).get("object") if isinstance(record, dict) else None
            if not isinstance(s3_object, dict) or s3_object.get("sequencer"):
                continue
            cache_key = f"{message_id}/{position}"
            if cache_key not in self._sequencers:
                self._sequence += 1
                millis = _event_millis(str(record.get("eventTime", "")))
                self._sequencers[cache_key] = f"{millis:012X}{self._sequence:08X}"
            s3_object["sequencer"] = self._sequencers[cache_key]
        return json.dumps(parsed)

    # -- feeds bucket → HTTP ------------------------------------------------------------------

    def websub_links(self, key: str) -> str | None:
        """The HTTP ``Link`` header for a feed when ``site.yaml`` names WebSub hubs."""
        from newswire.content.site import parse_site

        if not is_feed_path(key):
            return None
        try:
            site = parse_site(SITE_CONFIG_KEY, (self.content_dir / SITE_CONFIG_KEY).read_bytes())
        except (OSError, NewswireError):
            return None
        if not site.hubs:
            return None
        hubs = [f'<{hub}>; rel="hub"' for hub in site.hubs]
        return ", ".join([*hubs, f'<{site.feeds_url}{quote(key)}>; rel="self"'])

    def feed_object(self, key: str) -> dict[str, Any] | None:
        """The feeds bucket's object at ``key`` (body read), or ``None``."""
        s3: S3Client = self._s3
        with self._feed_reads:
            try:
                response = s3.get_object(Bucket=self.names.feeds_bucket, Key=key)
            except ClientError as e:
                if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                    return None
                raise
            return {**response, "Body": response["Body"].read()}

    def feed_keys(self) -> list[str]:
        """Every object in the feeds bucket, in key order."""
        s3: S3Client = self._s3
        keys: list[str] = []
        with self._feed_reads:
            pages = s3.get_paginator("list_objects_v2").paginate(Bucket=self.names.feeds_bucket)
            for page in pages:
                keys.extend(item["Key"] for item in page.get("Contents", []))
        return keys

    def site_title(self) -> str:
        """The site's title from ``site.yaml`` (``newswire`` while it cannot be read)."""
        from newswire.content.site import parse_site

        try:
            with self._feed_reads:
                body = self._s3.get_object(Bucket=self.names.content_bucket, Key=SITE_CONFIG_KEY)
                config = body["Body"].read()
            return parse_site(SITE_CONFIG_KEY, config).title
        except (NewswireError, ClientError, BotoCoreError):
            return "newswire"


class _FeedServer(ThreadingHTTPServer):
    """A thread per connection, a deep listen backlog, and quiet about clients that hang up."""

    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, address: tuple[str, int], stack: LocalStack) -> None:
        self.stack = stack
        super().__init__(address, _FeedRequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A reader that disconnects or goes silent is routine; anything else is a bug."""
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class _FeedRequestHandler(BaseHTTPRequestHandler):
    """GET/HEAD of the feeds bucket, as a CDN in front of it would answer."""

    server_version = "newswire-serve"
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        stack: LocalStack = self.server.stack  # type: ignore[attr-defined]
        super().setup()
        self.connection.settimeout(stack.idle_timeout)  # a read past it ends the connection

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: feed readers poll often."""

    def _respond(self, *, send_body: bool) -> None:
        stack: LocalStack = self.server.stack  # type: ignore[attr-defined]
        path = unquote(urlsplit(self.path).path)
        try:
            if path == "/":
                self._send(HTTPStatus.OK, _index_page(stack), "text/html; charset=utf-8", send_body)
                return
            key = path.lstrip("/")
            found = stack.feed_object(key) if not path.endswith("/") else None
            if found is None and key == STYLESHEET_PATH:
                found = _packaged_stylesheet()  # until the pipeline has published its own
        except (ClientError, BotoCoreError) as e:
            page = _page("Bad gateway", f"The feeds bucket could not be read: {e}")
            self._send(HTTPStatus.BAD_GATEWAY, page, "text/html; charset=utf-8", send_body)
            return
        if found is None:
            page = _page("Not found", f"No feed at {path}. The feeds are listed at /.")
            self._send(HTTPStatus.NOT_FOUND, page, "text/html; charset=utf-8", send_body)
            return
        self._send_object(found, send_body, xsl=key.endswith(".xsl"), links=stack.websub_links(key))

    def _send_object(
        self, found: dict[str, Any], send_body: bool, *, xsl: bool = False, links: str | None = None
    ) -> None:
        etag = str(found["ETag"])
        last_modified = found["LastModified"].astimezone(UTC)
        body: bytes = found["Body"]
        gzipped = _accepts_gzip(self.headers.get("Accept-Encoding", ""))
        headers = {
            "ETag": f"W/{etag}" if gzipped else etag,
            "Last-Modified": format_datetime(last_modified, usegmt=True),
            "Cache-Control": str(found.get("CacheControl") or "no-cache"),
            "Vary": "Accept, Accept-Encoding",
        }
        if links:
            headers["Link"] = links  # WebSub discovery, as the feed's own links say
        if _not_modified(
            self.headers.get("If-None-Match"),
            self.headers.get("If-Modified-Since"),
            etag,
            last_modified,
        ):
            self.send_response(HTTPStatus.NOT_MODIFIED)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            return
        if gzipped:
            body = gzip.compress(body, mtime=0)
            headers["Content-Encoding"] = "gzip"
        content_type = str(found.get("ContentType") or "application/octet-stream")
        if xsl and content_type.partition(";")[0] in _UNTYPED:
            content_type = STYLESHEET_CONTENT_TYPE  # browsers want an XSLT stylesheet typed
        content_type = browser_content_type(content_type, self.headers.get("Accept"))
        self._send(HTTPStatus.OK, body, content_type, send_body, headers)

    def _send(
        self,
        status: HTTPStatus,
        body: bytes,
        content_type: str,
        send_body: bool,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(body)


@functools.cache
def _packaged_stylesheet() -> dict[str, Any]:
    """The package's ``feed.xsl`` as a feeds-bucket object, for a bucket that has none yet."""
    stylesheet = stylesheet_file()
    return {
        "Body": stylesheet.body,
        "ContentType": stylesheet.content_type,
        "ETag": f'"{hashlib.md5(stylesheet.body, usedforsecurity=False).hexdigest()}"',
        "LastModified": datetime.now(UTC).replace(microsecond=0),
    }


def _not_modified(
    if_none_match: str | None, if_modified_since: str | None, etag: str, modified: datetime
) -> bool:
    """RFC 9110 §13.2.2: ``If-None-Match`` (weak comparison) wins over ``If-Modified-Since``."""
    if if_none_match is not None:
        tags = [t.strip() for t in if_none_match.split(",")]
        return "*" in tags or _opaque(etag) in {_opaque(t) for t in tags}
    if if_modified_since is not None:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            return False
        return modified.replace(microsecond=0) <= since
    return False


def _opaque(tag: str) -> str:
    return tag.removeprefix("W/")


def _accepts_gzip(accept_encoding: str) -> bool:
    for item in accept_encoding.split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            quality = params.strip().removeprefix("q=")
            try:
                return not params or float(quality) > 0
            except ValueError:
                return True
    return False


def _page(title: str, text: str, extra_head: str = "", body_html: str = "") -> bytes:
    return (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title>{extra_head}</head>\n<body>"
        f"<h1>{html.escape(title)}</h1>\n<p>{html.escape(text)}</p>\n{body_html}</body></html>\n"
    ).encode()


def _index_page(stack: LocalStack) -> bytes:
    """Every feed, linked, with autodiscovery tags for the main feeds."""
    title = stack.site_title()
    discovery = "".join(
        f'\n<link rel="alternate" type="{fmt.content_type.split(";")[0]}" '
        f'title="{html.escape(title)} ({name})" href="/{fmt.filename}">'
        for fmt, name in zip(FeedFormat, ("RSS", "Atom", "JSON Feed"), strict=True)
    )
    keys = stack.feed_keys()
    items = "".join(
        f'<li><a href="/{html.escape(key)}">{html.escape(key)}</a></li>\n' for key in keys
    )
    listing = f"<ul>\n{items}</ul>\n" if keys else "<p>No feeds yet.</p>\n"
    return _page(
        title, f"{len(keys)} feed files, served from the local feeds bucket.", discovery, listing
    )


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """``{key: (mtime_ns, size)}`` of every file under ``root`` the watcher mirrors."""
    stamps: dict[str, tuple[int, int]] = {}
    for path in _content_files(root):
        try:
            stat = path.stat()
        except OSError:
            continue  # deleted while listing
        stamps[path.relative_to(root).as_posix()] = (stat.st_mtime_ns, stat.st_size)
    return stamps


def _content_files(root: Path) -> Iterator[Path]:
    for path in root.rglob("*"):
        relative = path.relative_to(root).parts
        if any(part.startswith(".") for part in relative):
            continue  # hidden files and folders (.git, editors' state)
        if path.name.endswith(_IGNORED_SUFFIXES) or not path.is_file():
            continue
        yield path


def _event_millis(event_time: str) -> int:
    try:
        return int(datetime.fromisoformat(event_time.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return int(time.time() * 1000)


def _reset_moto(endpoint_url: str) -> None:
    """Empty moto's global state, so a stack always starts from nothing."""
    reset = f"{endpoint_url}/moto-api/reset"  # our own loopback server
    request = urllib.request.Request(reset, method="POST")  # noqa: S310
    urllib.request.urlopen(request, timeout=10).close()  # noqa: S310


def serve_command(content: Path, host: str, port: int) -> int:
    """Run ``newswire serve`` until Ctrl-C or SIGTERM; return the exit status."""
    stack = LocalStack(content, host, port)
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
