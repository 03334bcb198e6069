"""moto's server, embedded in-process on loopback.

AWS handles each request atomically; moto's backends are plain dictionaries that are not
safe to use from several threads at once. The server here still accepts connections on
many threads, but runs one request at a time, so concurrent clients interleave *between*
requests exactly as they would against AWS, and conditional writes mean what they say.
"""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from newswire.errors import NewswireError


class _OneRequestAtATime:
    """WSGI middleware: serialise calls into the wrapped application."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self._lock:
            return list(self._app(environ, start_response))


_IN_PROCESS_LOCK = threading.Lock()


def serialise_in_process_moto() -> None:
    """Make moto's in-process mock (``moto.mock_aws``) answer one request at a time too, as
    the server here does, for tests and benchmarks whose code sends requests from several
    threads. Idempotent; it changes no request or response."""
    from moto.core.botocore_stubber import BotocoreStubber

    call = BotocoreStubber.__call__
    if getattr(call, "serialised", False):
        return

    def one_at_a_time(self: BotocoreStubber, *args: Any, **kwargs: Any) -> Any:
        with _IN_PROCESS_LOCK:
            return call(self, *args, **kwargs)

    one_at_a_time.serialised = True  # type: ignore[attr-defined]
    BotocoreStubber.__call__ = one_at_a_time  # type: ignore[method-assign]


class LocalAws:
    """A moto server on ``host:port`` (port 0 picks a free one).

    Use as a context manager; :attr:`endpoint_url` is what boto3 clients (or
    ``AWS_ENDPOINT_URL``) point at.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        """The server's base URL, e.g. ``http://127.0.0.1:5000``."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> LocalAws:
        """Start serving in a daemon thread.

        Raises:
            NewswireError: the port is taken (the message says which).
        """
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        app = _OneRequestAtATime(DomainDispatcherApplication(create_backend_app))
        try:
            self._server = make_server(
                self.host, self.port, app, threaded=True, request_handler=MotoRequestHandler
            )
        except OSError as e:
            raise NewswireError(
                f"cannot listen on {self.host}:{self.port} ({e.strerror}); "
                "is another newswire or moto already running? choose another port"
            ) from e
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()
        return self

    def reset(self) -> None:
        """Empty moto's state, which is global to the process, so a user starts from nothing."""
        reset = f"{self.endpoint_url}/moto-api/reset"  # our own loopback server
        request = urllib.request.Request(reset, method="POST")  # noqa: S310
        urllib.request.urlopen(request, timeout=10).close()  # noqa: S310

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
