"""Who may bind where, and the bearer-token check."""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import Request

from pipeline_project.lib.web.errors import ApiError


class UnsafeBind(RuntimeError):
    """Refusing to listen on a non-loopback address without an access token."""


def is_loopback(host: str) -> bool:
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def check_bind(host: str, token: str | None) -> None:
    if not is_loopback(host) and not token:
        raise UnsafeBind(
            f"refusing to listen on {host}: other machines could reach it. Set an access token "
            "(export PIPELINE_API_TOKEN=<a long random string>) and send it as 'Authorization: Bearer <token>', "
            "or listen on 127.0.0.1.")


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def require_token(request: Request) -> None:
    """FastAPI dependency: with a token configured, the request must carry it."""
    expected = request.app.state.settings.token
    if not expected:
        return
    given = bearer_token(request)
    if given is None:
        raise ApiError(401, "this server needs an access token: send 'Authorization: Bearer <token>'",
                       {"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise ApiError(401, "the access token is not valid", {"WWW-Authenticate": "Bearer"})
