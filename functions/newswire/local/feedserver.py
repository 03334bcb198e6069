"""The feeds bucket over HTTP, with the headers a CDN in front of S3 would give.

``ETag``, ``Last-Modified``, ``Cache-Control``, 304s and gzip, as werkzeug's responses make
them; ``/`` is the feed directory (``index.html``), as CloudFront serves it; ``feed.xsl``
(the feeds' browser view) comes from the package while the bucket has none; WebSub ``Link``
headers when ``site.yaml`` names hubs. The server (the standard library's, which queues a
burst of readers and closes connections that stay silent past their idle timeout) hands
werkzeug each request's method and headers, and sends what it answers.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import html
import sys
import threading
import time
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

from botocore.exceptions import BotoCoreError, ClientError
from werkzeug.http import unquote_etag
from werkzeug.wrappers import Request, Response

from newswire.adapters.aws_errors import ABSENT_CODES, error_code
from newswire.content.site import SITE_CONFIG_KEY
from newswire.domain.feeds import is_feed_path
from newswire.errors import NewswireError
from newswire.local.resources import ResourceNames
from newswire.rendering.directory import PAGE_PATH
from newswire.rendering.stylesheet import (
    STYLESHEET_CONTENT_TYPE,
    STYLESHEET_PATH,
    browser_content_type,
    stylesheet_file,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment
    from mypy_boto3_s3 import S3Client

    from newswire.local.accesslog import AccessLog

#: Seconds the feed server waits for a request on an open connection before closing it, so
#: idle keep-alive and half-open connections give their threads back.
IDLE_TIMEOUT = 30.0
#: Connections the kernel queues while the server accepts: a burst of readers polling at once.
LISTEN_BACKLOG = 1024
#: Feed reads in flight at once: botocore's default connection pool, which warns (on the
#: terminal) about every connection beyond it.
_FEED_READS_IN_FLIGHT = 10
#: What S3 answers for an object written without a Content-Type.
_UNTYPED = frozenset({"", "binary/octet-stream", "application/octet-stream"})
_HTML = "text/html; charset=utf-8"


class FeedsBucket:
    """What the feed server reads: the feeds bucket's objects, and the site's hubs.

    Args:
        s3: the client every read goes through, shared by the server's threads.
        names: the buckets' names.
        content_dir: the folder whose ``site.yaml`` names the WebSub hubs.
    """

    def __init__(self, s3: S3Client, names: ResourceNames, content_dir: Path) -> None:
        self._s3 = s3
        self._names = names
        self._content_dir = content_dir
        self._reads = threading.BoundedSemaphore(_FEED_READS_IN_FLIGHT)

    def websub_links(self, key: str) -> str | None:
        """The HTTP ``Link`` header for a feed when ``site.yaml`` names WebSub hubs."""
        from newswire.content.site import parse_site

        if not is_feed_path(key):
            return None
        try:
            config = (self._content_dir / SITE_CONFIG_KEY).read_bytes()
            site = parse_site(SITE_CONFIG_KEY, config)
        except (OSError, NewswireError):
            return None
        if not site.hubs:
            return None
        hubs = [f'<{hub}>; rel="hub"' for hub in site.hubs]
        return ", ".join([*hubs, f'<{site.feeds_url}{quote(key)}>; rel="self"'])

    def feed_object(self, key: str) -> dict[str, Any] | None:
        """The feeds bucket's object at ``key`` (body read), or ``None``."""
        with self._reads:
            try:
                response = self._s3.get_object(Bucket=self._names.feeds_bucket, Key=key)
            except ClientError as e:
                if error_code(e) in ABSENT_CODES:
                    return None
                raise
            return {**response, "Body": response["Body"].read()}


class FeedServer(ThreadingHTTPServer):
    """A thread per connection, a deep listen backlog, and quiet about clients that hang up.

    The socket is bound on construction, so a taken port is known before anything else starts;
    :meth:`serve` then answers from a :class:`FeedsBucket`.

    Args:
        address: ``(host, port)``; port 0 picks a free one.
        idle_timeout: seconds a connection may sit without sending a request.
    """

    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, address: tuple[str, int], idle_timeout: float = IDLE_TIMEOUT) -> None:
        self.idle_timeout = idle_timeout
        self.bucket: FeedsBucket | None = None
        self.access_log: AccessLog | None = None  # set by the stack: one line per request
        super().__init__(address, _FeedRequestHandler)

    def serve(self, bucket: FeedsBucket) -> None:
        """Answer from ``bucket`` until :meth:`shutdown`."""
        self.bucket = bucket
        self.serve_forever()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A reader that disconnects or goes silent is routine; anything else is a bug."""
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class _FeedRequestHandler(BaseHTTPRequestHandler):
    """GET/HEAD of the feeds bucket, as a CDN in front of it would answer."""

    server_version = "newswire-serve"
    protocol_version = "HTTP/1.1"
    server: FeedServer

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.idle_timeout)  # a read past it ends the connection

    def do_GET(self) -> None:
        self._respond()

    def do_HEAD(self) -> None:
        self._respond()  # werkzeug sends HEAD the headers of a GET, without its body

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: feed readers poll often."""

    def _respond(self) -> None:
        bucket = self.server.bucket
        if bucket is None:
            raise NewswireError("the feed server is not serving")
        request = Request(self._environ())
        path = unquote(urlsplit(self.path).path)
        try:
            # "/" is the feed directory, as CloudFront's default root object makes it
            key = PAGE_PATH if path == "/" else path.lstrip("/")
            found = bucket.feed_object(key) if not key.endswith("/") else None
            if found is None and key == STYLESHEET_PATH:
                found = _packaged_stylesheet()  # until the pipeline has published its own
        except (ClientError, BotoCoreError) as e:
            page = _page("Bad gateway", f"The feeds bucket could not be read: {e}")
            self._send(request, Response(page, HTTPStatus.BAD_GATEWAY, content_type=_HTML))
            return
        if found is None:
            text = f"No feed at {path}. The feeds are listed at /."
            if key == PAGE_PATH:
                text = "No feed directory yet: it is written with the first feeds."
            page = _page("Not found", text)
            self._send(request, Response(page, HTTPStatus.NOT_FOUND, content_type=_HTML))
            return
        response = _object_response(found, request, xsl=key.endswith(".xsl"))
        if links := bucket.websub_links(key):
            response.headers["Link"] = links  # WebSub discovery, as the feed's own links say
        self._send(request, response)

    def _environ(self) -> WSGIEnvironment:
        """The request's method and headers as WSGI names them: what werkzeug's request and
        response helpers read (the path is routed here)."""
        environ: WSGIEnvironment = {"REQUEST_METHOD": self.command}
        for name, value in self.headers.items():
            environ[f"HTTP_{name.upper().replace('-', '_')}"] = value
        return environ

    def _send(self, request: Request, response: Response) -> None:
        """Send ``response`` as a WSGI server would: no body for HEAD or a 304."""
        environ = request.environ
        self.send_response(response.status_code)  # with the server's Date and Server
        for name, value in response.get_wsgi_headers(environ).items():
            if name != "Date":
                self.send_header(name, value)
        self.end_headers()
        started, size = time.monotonic(), 0
        for chunk in response.get_app_iter(environ):
            self.wfile.write(chunk)
            size += len(chunk)
        if self.server.access_log is not None:
            self.server.access_log.record(
                address=str(self.client_address[0]),
                method=self.command,
                path=unquote(urlsplit(self.path).path),
                status=response.status_code,
                user_agent=self.headers.get("User-Agent", ""),
                host=self.headers.get("Host", ""),
                size=size,
                started=started,
                finished=time.monotonic(),
            )


def _object_response(found: dict[str, Any], request: Request, *, xsl: bool) -> Response:
    """A feeds-bucket object as a CDN in front of S3 serves it: gzipped if the reader accepts
    it (its ETag then weak, as the bytes differ), or a 304 if the reader's copy is current."""
    content_type = str(found.get("ContentType") or "application/octet-stream")
    if xsl and content_type.partition(";")[0] in _UNTYPED:
        content_type = STYLESHEET_CONTENT_TYPE  # browsers want an XSLT stylesheet typed
    content_type = browser_content_type(content_type, request.headers.get("Accept"))
    gzipped = request.accept_encodings["gzip"] > 0
    body: bytes = found["Body"]
    response = Response(gzip.compress(body, mtime=0) if gzipped else body)
    response.content_type = content_type
    if gzipped:
        response.content_encoding = "gzip"
    response.set_etag(unquote_etag(str(found["ETag"]))[0], weak=gzipped)
    response.last_modified = found["LastModified"]
    response.headers["Cache-Control"] = str(found.get("CacheControl") or "no-cache")
    response.vary.update(("Accept", "Accept-Encoding"))
    return response.make_conditional(request)


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


def _page(title: str, text: str, extra_head: str = "", body_html: str = "") -> bytes:
    return (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title>{extra_head}</head>\n<body>"
        f"<h1>{html.escape(title)}</h1>\n<p>{html.escape(text)}</p>\n{body_html}</body></html>\n"
    ).encode()
