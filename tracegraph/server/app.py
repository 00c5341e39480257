"""One process serves the API, takes live traces, and answers health checks.

Routes: ``/graphql`` (Strawberry; GraphiQL when a browser asks), ``/v1/traces``
(OTLP/HTTP, protobuf or JSON, gzip; the OTLP success and partial-success
responses), ``/ui`` (the auditor's pages, :mod:`tracegraph.web`) and ``/healthz``.  Every request but ``/healthz`` needs a bearer
token from ``[server.tokens]`` in ``tracegraph.toml`` (stored as SHA-256, never
the secret); anonymous access is only ``--no-auth`` on a loopback address,
and then acts as ``admin``.  Bodies are capped; each request is logged as one
JSON line (method, path, status, milliseconds, who).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from contextlib import asynccontextmanager
from functools import cache
from importlib.resources import files
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlencode
from typing import Any, AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL

from .. import __version__
from ..api.context import Context
from ..api.schema import schema
from ..config import Config
from ..errors import InputError, StoreError
from ..services.analysis import analyze_stale
from ..store import Store
from ..web.pages import COOKIE, ui_routes

__all__ = ["create_app", "MAX_BODY", "QUERY_SECONDS"]

MAX_BODY = 32 * 1024 * 1024
"""Largest request body accepted (an import or an OTLP batch)."""
QUERY_SECONDS = 10.0
"""A GraphQL query stops between resolvers after this long."""
log = logging.getLogger("tracegraph.server")


class _Auth:
    """Who is asking: a token's role and name, or anonymous admin under --no-auth.

    A plain ASGI middleware (Starlette's ``BaseHTTPMiddleware`` costs a
    millisecond a request): it sets ``request.state.principal`` and ``.role``,
    refuses what it must, and logs every request as one JSON line.
    """

    def __init__(self, app: Any, *, config: Config, no_auth: bool) -> None:
        self.app = app
        self.by_digest = {t.sha256: (name, t.role) for name, t in config.tokens.items()}
        self.no_auth = no_auth

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope["headers"]}
        principal, role = "-", "-"
        refusal: Response | None = None
        path = scope["path"]
        ide_page = (path == "/graphql" and scope["method"] == "GET"
                    and "text/html" in headers.get("accept", ""))
        if path not in ("/", "/healthz", "/ui/login") and not ide_page and \
                not path.startswith(("/ui/static/", "/graphql/ide/")):
            found = self._who(headers, ui=path == "/ui" or path.startswith("/ui/"))
            if isinstance(found, Response) and path.startswith("/ui") and \
                    scope["method"] == "GET" and "authorization" not in headers:
                # A browser without a token: the sign-in page, then back here.
                target = path + ("?" + scope["query_string"].decode("latin-1")
                                 if scope.get("query_string") else "")
                found = RedirectResponse("/ui/login?" + urlencode({"next": target}), 303)
            if isinstance(found, Response):
                refusal = found
            else:
                principal, role = found
                state = scope.setdefault("state", {})
                state["principal"], state["role"] = principal, role
                length = headers.get("content-length")
                if scope["method"] == "POST" and length is None:
                    # A chunked body could not be capped before it is read.
                    refusal = JSONResponse({"error": "a Content-Length is required"}, 411)
                elif length is not None and (not length.isdigit() or int(length) > MAX_BODY):
                    refusal = JSONResponse(
                        {"error": f"request body over {MAX_BODY // 2**20} MB"}, 413)
        if refusal is not None:
            await refusal(scope, receive, sending)
        else:
            await self.app(scope, receive, sending)
        log.info(json.dumps({"method": scope["method"], "path": scope["path"],
                             "status": status[0], "who": principal, "role": role,
                             "ms": round((time.perf_counter() - started) * 1000, 2)}))

    def check(self, token: str) -> tuple[str, str] | None:
        """(name, role) of a token, compared in constant time; ``None`` if unknown."""
        digest = hashlib.sha256(token.strip().encode()).hexdigest()
        for known, found in self.by_digest.items():
            if hmac.compare_digest(known, digest):
                return found
        return None

    def _who(self, headers: dict[str, str], *, ui: bool = False
             ) -> tuple[str, str] | Response:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if not (scheme.lower() == "bearer" and token) and ui:
            # The UI's browsers carry the token in a cookie (HttpOnly, SameSite=Strict).
            cookies = SimpleCookie()
            try:
                cookies.load(headers.get("cookie", ""))
            except CookieError:
                pass
            if COOKIE in cookies and cookies[COOKIE].value:
                scheme, token = "bearer", cookies[COOKIE].value
        if scheme.lower() == "bearer" and token:
            found = self.check(token)
            return found if found is not None else _denied("unknown token", 401)
        if self.no_auth:
            return "anonymous", "admin"
        if not self.by_digest:
            return _denied("no API tokens are configured: `tracegraph token ROLE` prints one "
                           "to add to tracegraph.toml (or serve with --no-auth on 127.0.0.1)",
                           401)
        return _denied("an Authorization: Bearer <token> header is required", 401)


_IDE_ASSETS = {"ide.html": "text/html; charset=utf-8", "ide.js": "text/javascript",
               "graphiql.min.js": "text/javascript", "graphiql.min.css": "text/css",
               "react.production.min.js": "text/javascript",
               "react-dom.production.min.js": "text/javascript"}
"""GraphiQL 3.8.3 and React 18.3.1 from npm (MIT; licences beside them)."""


@cache
def _ide_asset(name: str) -> str:
    return (files("tracegraph.server") / "static" / "graphiql" / name).read_text("utf-8")


async def _ide_file(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in _IDE_ASSETS or name == "ide.html":
        return Response("not found", 404)
    return Response(_ide_asset(name), media_type=_IDE_ASSETS[name],
                    headers={"Cache-Control": "public, max-age=86400"})


def _denied(message: str, status: int) -> Response:
    return JSONResponse({"error": message}, status,
                        headers={"WWW-Authenticate": 'Bearer realm="tracegraph"'})


class _GraphQL(GraphQL[Context, None]):
    def __init__(self, store: Store, config: Config) -> None:
        super().__init__(schema, graphql_ide="graphiql", allow_queries_via_get=False)
        self.store = store
        self.config = config

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL with every asset from this server (Strawberry's page takes them from
        a CDN, which an air-gapped machine cannot reach).  The page holds no data: it
        is served without a token, and each query carries the one typed into it."""
        return HTMLResponse(_ide_asset("ide.html"))

    async def get_context(self, request: Any, response: Any) -> Context:
        state = request.state
        role = getattr(state, "role", "reader")
        return Context(store=self.store, config=self.config, role=role,
                       principal=getattr(state, "principal", "-"),
                       deadline=time.monotonic() + QUERY_SECONDS, request=request)


def _otlp_response(request: Request, status: int, *, rejected: int = 0,
                   message: str = "") -> Response:
    """The OTLP/HTTP answer (an export response, or a ``google.rpc.Status`` on error), in
    the encoding of the request."""
    from ..formats.otlp_proto import encode_export_response, encode_status
    json = not request.headers.get("content-type", "").startswith(
        ("application/x-protobuf", "application/protobuf"))
    media = "application/json" if json else "application/x-protobuf"
    if status != 200:
        code = 3 if status < 500 else 14  # INVALID_ARGUMENT, UNAVAILABLE (retry)
        return Response(encode_status(message, code=code, json=json), status, media_type=media)
    return Response(encode_export_response(rejected_spans=rejected, error_message=message,
                                           json=json), 200, media_type=media)


def create_app(store: Store, config: Config, *, no_auth: bool = False) -> Starlette:
    """The ASGI application over ``store`` (which it closes on shutdown)."""

    async def traces(request: Request) -> Response:
        if request.state.role not in ("ingest", "admin"):
            return _denied(f"the {request.state.role!r} role may not send traces "
                           "(needs ingest)", 403)
        from ..services.ingest import BodyTooLarge, UnsupportedMedia, ingest_otlp
        body = await request.body()
        try:
            result = ingest_otlp(store, body,
                                 content_type=request.headers.get("content-type", ""),
                                 content_encoding=request.headers.get("content-encoding"),
                                 source=f"POST /v1/traces by {request.state.principal}",
                                 max_bytes=MAX_BODY)
        except UnsupportedMedia as exc:
            return JSONResponse({"code": 3, "message": str(exc)}, 415)
        except BodyTooLarge as exc:
            return JSONResponse({"code": 3, "message": str(exc)}, 413)
        except InputError as exc:
            return _otlp_response(request, 400, message=str(exc))
        except StoreError as exc:  # busy or failing store: exporters retry a 503
            return _otlp_response(request, 503, message=str(exc))
        # Analysed when first asked for (a query's loader, a report): ingestion
        # keeps the exporter's pace.
        return _otlp_response(request, 200, rejected=result.rejected_spans,
                              message=result.error_message or "")

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        analyze_stale(store, config=config)  # one query when all is current
        try:
            yield
        finally:
            store.close()

    app = Starlette(
        routes=[Route("/healthz", healthz), Route("/v1/traces", traces, methods=["POST"]),
                Route("/graphql", _GraphQL(store, config), methods=["GET", "POST"]),
                Route("/graphql/ide/{name}", _ide_file),
                *ui_routes(store, config)],
        middleware=[Middleware(_Auth, config=config, no_auth=no_auth)],
        lifespan=lifespan)
    app.state.check_token = _Auth(None, config=config, no_auth=False).check
    return app

