"""The routes of ``/ui``: read-only pages over the store, server-rendered.

Pages are GET only; the one POST is the login form, which turns a token into
an HttpOnly, SameSite=Strict cookie so that a browser can carry it (it cannot
send an ``Authorization`` header on a link).  The server's auth middleware
checks that cookie exactly as it checks a bearer token.  Who may see what:
``reader`` sees payloads redacted, ``auditor`` and ``admin`` raw; ``ingest``
tokens are for exporters and see no page.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable
from urllib.parse import parse_qsl, quote, urlencode

import orjson
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ..config import Config
from ..errors import NotFound, StoreError
from ..store import Store
from . import views
from .templating import STATIC, environment, static_file

__all__ = ["ui_routes", "COOKIE", "READ_ROLES"]

COOKIE = "tracegraph_token"
"""The cookie that carries a browser's token (HttpOnly, SameSite=Strict, Path=/ui)."""
READ_ROLES = frozenset({"reader", "auditor", "admin"})


def _html(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    body = environment().get_template(template).render(
        role=getattr(request.state, "role", "-"),
        principal=getattr(request.state, "principal", "-"), Markup=Markup, quote=quote,
        urlencode=urlencode, page_numbers=views.page_numbers, **context)
    response = HTMLResponse(body, status)
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self' 'unsafe-inline'; script-src 'self'; "
        "img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _problem(request: Request, status: int, message: str) -> HTMLResponse:
    return _html(request, "problem.html", status, title="Not found" if status == 404
                 else "Cannot show that", message=message)


def ui_routes(store: Store, config: Config) -> list[BaseRoute]:
    """The UI's routes over ``store``, for the server to mount."""

    def page(build: Callable[[Request], Response]) -> Callable[[Request], Any]:
        """Run a page's store work off the event loop; turn what users cause into pages."""
        async def endpoint(request: Request) -> Response:
            if getattr(request.state, "role", None) not in READ_ROLES:
                return _problem(request, 403, f"the {request.state.role!r} role sees no "
                                "pages (its tokens are for sending traces)")

            def run() -> Response:
                try:
                    return build(request)
                except views.BadRequest as exc:
                    return _problem(request, 400, str(exc))
                except (NotFound, LookupError) as exc:  # without the store's address
                    return _problem(request, 404, str(exc).strip("'\"").replace(
                        f" in {store.url}", ""))
                except StoreError as exc:
                    return _problem(request, 503, f"the store did not answer: {exc}")
            return await asyncio.to_thread(run)
        return endpoint

    def home(request: Request) -> Response:
        return RedirectResponse("/ui/traces", 303)

    def traces(request: Request) -> Response:
        started = time.perf_counter()
        listing = views.trace_list(store, request.query_params)
        return _html(request, "traces.html", title="Traces", listing=listing,
                     ms=round((time.perf_counter() - started) * 1000))

    def trace(request: Request) -> Response:
        trace_id = request.path_params["trace_id"]
        raw_page = request.query_params.get("page", "0")
        if not raw_page.isdigit():
            raise views.BadRequest(f"page {raw_page!r} is not a whole number")
        view = views.trace_view(store, config, trace_id, role=request.state.role,
                                page=int(raw_page))
        return _html(request, "trace.html", title=f"Trace {trace_id}", view=view)

    def step(request: Request) -> Response:
        view = views.step_view(store, config, request.path_params["trace_id"],
                               request.path_params["step_id"], role=request.state.role)
        return _html(request, "step.html", title=f"Step {view['step']['id']}", view=view)

    def explain(request: Request) -> Response:
        trace_id = request.path_params["trace_id"]
        view = views.explain_view(store, config, trace_id, role=request.state.role)
        fragment = request.query_params.get("fragment") == "1"
        return _html(request, "explain_fragment.html" if fragment else "explain.html",
                     title=f"Why trace {trace_id} cost what it did", explain=view)

    def compare(request: Request) -> Response:
        a, b = request.query_params.get("a", ""), request.query_params.get("b", "")
        if not a or not b:
            return _html(request, "compare.html", title="Compare two traces", view=None,
                         a=a, b=b)
        return _html(request, "compare.html", title=f"{a} against {b}",
                     view=views.compare_view(store, config, a, b), a=a, b=b)

    def workflow(request: Request) -> Response:
        name = request.path_params["name"]
        return _html(request, "workflow.html", title=f"Workflow {name}",
                     view=views.workflow_view(store, config, name))

    def export(request: Request) -> Response:
        trace_id, kind = request.path_params["trace_id"], request.path_params["kind"]
        if kind not in ("json", "html"):
            raise LookupError(f"no export as {kind!r}: use export.html or export.json")
        record = views.audit_record(store, config, trace_id, role=request.state.role,
                                    drawings=kind == "html")
        filename = f"tracegraph-audit-{trace_id}.{kind}".replace('"', "")
        disposition = {"Content-Disposition": f'attachment; filename="{quote(filename)}"'}
        if kind == "json":
            return Response(orjson.dumps(record, option=orjson.OPT_INDENT_2, default=str),
                            media_type="application/json", headers=disposition)
        drawings = record.pop("drawings")
        body = environment().get_template("export.html").render(
            record=record, Markup=Markup, css=Markup(static_file("ui.css")),
            **{name: Markup(svg) for name, svg in drawings.items()})
        return HTMLResponse(body, headers=disposition)

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC:
            return Response("not found", 404)
        return Response(static_file(name), media_type=STATIC[name],
                        headers={"Cache-Control": "public, max-age=3600"})

    async def login(request: Request) -> Response:
        if request.method == "GET":
            return _html(request, "login.html", title="Sign in",
                         next=_safe_next(request.query_params.get("next")), error=None)
        # The form is urlencoded (no file fields): parsed here rather than by Starlette,
        # whose form parser needs python-multipart for every kind of form.
        body = (await request.body()).decode("utf-8", "replace")
        form = dict(parse_qsl(body, keep_blank_values=True))
        token = form.get("token", "").strip()
        target = _safe_next(form.get("next", ""))
        checker = request.app.state.check_token
        found = checker(token) if token else None
        if found is None:
            return _html(request, "login.html", 401, title="Sign in", next=target,
                         error="That token is not known to this server.")
        if found[1] not in READ_ROLES:
            return _html(request, "login.html", 403, title="Sign in", next=target,
                         error=f"That is an {found[1]} token: it sends traces and reads "
                               "nothing. Sign in with a reader or auditor token.")
        response = RedirectResponse(target, 303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/ui",
                            secure=request.url.scheme == "https")
        return response

    async def logout(request: Request) -> Response:
        response = RedirectResponse("/ui/login", 303)
        response.delete_cookie(COOKIE, path="/ui")
        return response

    return [
        Route("/", home), Route("/ui", home), Route("/ui/", home),
        Route("/ui/login", login, methods=["GET", "POST"]),
        Route("/ui/logout", logout, methods=["POST"]),
        Route("/ui/static/{name}", static),
        Route("/ui/traces", page(traces)),
        Route("/ui/traces/{trace_id:path}/steps/{step_id:path}", page(step)),
        Route("/ui/traces/{trace_id:path}/explain", page(explain)),
        Route("/ui/traces/{trace_id:path}/export.{kind:str}", page(export)),
        Route("/ui/traces/{trace_id:path}", page(trace)),
        Route("/ui/compare", page(compare)),
        Route("/ui/workflows/{name:path}", page(workflow)),
    ]


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this UI, never another site."""
    if target and target.startswith("/ui") and not target.startswith("//"):
        return target
    return "/ui/traces"
