"""The labelling web app (Starlette): the page, the pair's two videos, answers and undo.

Every request is validated before it touches the session: an unknown route, pair or side
is a 404, a malformed body a 400, an answer out of turn a 409, a missing or wrong token a
403; nothing else is served (the page and the session's own segment videos only).
"""

from __future__ import annotations

import html
import json
import secrets
import threading
from collections import OrderedDict
from importlib import resources
from typing import Any

from rewarddesign.errors import ParameterError
from rewarddesign.human.session import AnswerError, LabelSession, check_annotator
from rewarddesign.human.video import webm

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
VIDEO_CACHE = 64  # encoded segments kept in memory
ANSWER_FIELDS = ("annotator", "pair", "choice", "seconds")  # LabelSession.answer's


def needs_token(host: str) -> bool:
    """A server reachable from other machines requires a token in every URL."""
    return host not in LOCAL_HOSTS


def build_app(session: LabelSession, instructions: str, token: str | None = None) -> Any:
    """The Starlette app serving ``session``.

    Args:
        session: The labelling session.
        instructions: Shown above the videos (plain text).
        token: When set, every request must carry ``?token=...`` (403 otherwise).

    Example:
        >>> import numpy as np, tempfile
        >>> import rewarddesign as rd
        >>> from starlette.testclient import TestClient
        >>> from rewarddesign.human.session import LabelSession, plan_pairs
        >>> env = rd.make("classic/Pendulum-v1", render_mode="rgb_array")
        >>> traj = rd.preferences.rollout(env, None, 40, 0, frame_size=32)
        >>> plan = plan_pairs(traj, 2, 10, np.random.default_rng(0))
        >>> s = LabelSession(traj, plan, 10, tempfile.mkdtemp() + "/l.npz", "classic/Pendulum-v1")
        >>> client = TestClient(build_app(s, "Keep it upright."))
        >>> client.get("/api/next", params={"annotator": "ann"}).json()
        {'pair': 0, 'answered': 0, 'total': 2}
        >>> client.post("/api/answer", json={"annotator": "ann", "pair": 1,
        ...             "choice": "left", "seconds": 1}).status_code  # out of turn
        409
    """
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, Response
    from starlette.routing import Route

    page = resources.files("rewarddesign.human").joinpath("page.html").read_text()
    page = page.replace("__INSTRUCTIONS__", html.escape(instructions))
    page = page.replace("__TOKEN__", json.dumps(token))  # JSON: a safe JS string or null
    videos: OrderedDict[tuple[int, int], bytes] = OrderedDict()
    video_lock = threading.Lock()

    def error(message: str, status: int) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    def state(annotator: str) -> dict[str, Any]:
        done = len(session.done(annotator))
        return {"pair": session.next_pair(annotator), "answered": done, "total": session.total}

    async def body(request: Request) -> dict[str, Any]:
        try:
            doc = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise AnswerError(f"the request body is not JSON ({exc}).") from exc
        if not isinstance(doc, dict):
            raise AnswerError("the request body must be a JSON object.")
        return doc

    def guarded(handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            given = request.query_params.get("token", "")
            if token is not None and not secrets.compare_digest(given, token):
                return error(
                    "a valid ?token= is required (it is in the URL the server printed)", 403
                )
            try:
                return await handler(request)
            except AnswerError as exc:
                return error(str(exc), exc.status)
            except ParameterError as exc:
                return error(str(exc), 400)

        return endpoint

    async def index(request: Request) -> Response:
        return HTMLResponse(page)

    async def next_pair(request: Request) -> Response:
        annotator = check_annotator(request.query_params.get("annotator"))
        return JSONResponse(state(annotator))

    async def video(request: Request) -> Response:
        pair, side = request.path_params["pair"], request.path_params["side"]
        session.check_pair(pair)
        if side not in (0, 1):
            raise AnswerError(f"side must be 0 (left) or 1 (right), got {side}.", 404)

        def encoded() -> bytes:  # in a worker thread: encoding does not stall other requests
            with video_lock:
                data = videos.get((pair, side))
                if data is None:
                    data = videos[pair, side] = webm(session.frames(pair, side))
                    while len(videos) > VIDEO_CACHE:
                        videos.popitem(last=False)
                return data

        data = await run_in_threadpool(encoded)
        return Response(data, media_type="video/webm", headers={"Cache-Control": "no-store"})

    async def answer(request: Request) -> Response:
        doc = await body(request)
        extra = set(doc) - set(ANSWER_FIELDS)
        if extra:
            raise AnswerError(f"unknown field(s) {sorted(extra)} in the answer.")
        fields = (doc.get(k) for k in ANSWER_FIELDS)
        a = await run_in_threadpool(session.answer, *fields)  # on disk before the reply
        return JSONResponse({"saved": a.pair, **state(a.annotator)})

    async def undo(request: Request) -> Response:
        doc = await body(request)
        a = await run_in_threadpool(session.undo, doc.get("annotator"))
        return JSONResponse({"undone": a.pair, **state(a.annotator)})

    routes = [
        Route("/", guarded(index), methods=["GET"]),
        Route("/api/next", guarded(next_pair), methods=["GET"]),
        Route("/video/{pair:int}/{side:int}", guarded(video), methods=["GET"]),
        Route("/api/answer", guarded(answer), methods=["POST"]),
        Route("/api/undo", guarded(undo), methods=["POST"]),
    ]
    return Starlette(routes=routes)


__all__ = ["LOCAL_HOSTS", "build_app", "needs_token"]
