"""Serve an app with uvicorn on a socket bound first, so a port in use is one clear error
before anything starts (and port 0 takes any free one)."""

from __future__ import annotations

import errno
import socket
from typing import Any

from rewarddesign.common.checks import check_int
from rewarddesign.errors import ParameterError


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``.

    Raises:
        ParameterError: A bad port, or one already in use.
    """
    check_int(port, "--port", 0, 65535)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ParameterError(
                f"port {port} on {host} is in use: pass --port with a free port (0: any)."
            ) from exc
        raise ParameterError(f"cannot listen on {host}:{port}: {exc.strerror}.") from exc
    sock.listen(64)
    return sock


def url(sock: socket.socket, host: str, **query: str | None) -> str:
    """The page's URL on a bound socket, with its query (values of None left out)."""
    from urllib.parse import urlencode

    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    q = urlencode({k: v for k, v in query.items() if v is not None})
    return f"http://{shown}:{port}/" + (f"?{q}" if q else "")


def server(app: Any) -> Any:
    """A uvicorn server for ``app``: ``server.run(sockets=[bind(...)])`` serves until
    ``server.should_exit`` is set (Ctrl-C sets it)."""
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    return uvicorn.Server(config)


__all__ = ["bind", "server", "url"]
