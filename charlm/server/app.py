"""The HTTP side of charlm serve: a Starlette application speaking OpenAI's completions API.

    GET  /                 the writing page (charlm/server/page.html)
    GET  /health           {"status": "ok", "models": [...], "streams": n}
    GET  /v1/models        the models, under their run names
    POST /v1/completions   text after a prompt (a unidirectional model); stream: server-sent
                           events ending with "data: [DONE]"
    POST /v1/fill          a prompt's blanks filled (a bidirectional model)

Every answer but the page needs "Authorization: Bearer KEY" when the server has a key. Each
completion choice is a Stream of its model's Engine (charlm.server.batch); at most max_streams
run at once, and a request that would go over is a 429 at once.
"""

import contextlib
import secrets
import threading
from importlib import resources

import anyio
import numpy as np
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, JSONResponse, StreamingResponse
from starlette.routing import Route

from charlm import sample
from charlm.errors import CharlmError
from charlm.server import protocol
from charlm.server.batch import Engine
from charlm.server.completion import Call
from charlm.server.protocol import ApiError

MAX_BODY = 1 << 20  # bytes of a request body
FILL_MAX_CHARS = 4000  # a fill reads the whole text once per blank and sweep
FILL_MAX_BLANKS = 256


class Capacity:
    """How many streams run, against the most allowed; shared by the loop and the engines."""

    def __init__(self, most):
        self.most, self.used, self.lock = most, 0, threading.Lock()

    def take(self, n):
        with self.lock:
            if self.used + n > self.most:
                return False
            self.used += n
            return True

    def release(self, n=1):
        with self.lock:
            self.used -= n


class Served:
    """One model: its checkpoint, its engine (unidirectional ones) and its listing."""

    def __init__(self, name, ck, created, capacity):
        self.name, self.ck, self.created = name, ck, created
        release = lambda stream: capacity.release()  # noqa: E731
        self.engine = None if ck.spec.bidirectional else Engine(ck, on_leave=release)

    def card(self):
        spec = self.ck.spec
        return {"id": self.name, "object": "model", "created": self.created,
                "owned_by": "charlm", "charlm": {"model": spec.describe(),
                "hidden_size": spec.hidden_size, "step": self.ck.step,
                "bidirectional": spec.bidirectional, "symbols": len(self.ck.vocab)}}  # fmt: skip


def make_app(models, max_length=2000, max_streams=256, api_key=None, started=None):
    """The application for models: [(name, checkpoint, created)]. started() is called once
    the server runs (its signal handlers in place)."""
    api = _Routes(models, max_length, max_streams, api_key)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        if started is not None:
            started()
        try:
            yield
        finally:
            api.cut()

    routes = [Route("/", api.index), Route("/health", api.health),
              Route("/v1/models", api.list_models),
              Route("/v1/completions", api.completions, methods=["POST"]),
              Route("/v1/fill", api.fill, methods=["POST"])]  # fmt: skip
    handlers = {ApiError: _api_error, HTTPException: _http_error, Exception: _server_error}
    app = Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)
    app.state.capacity, app.state.served, app.state.cut = api.capacity, api.served, api.cut
    return app


class _Routes:
    """The answers, over the served models and their shared Capacity."""

    def __init__(self, models, max_length, max_streams, api_key):
        self.capacity = Capacity(max_streams)
        self.served = {name: Served(name, ck, created, self.capacity)
                       for name, ck, created in models}  # fmt: skip
        self.max_length, self.api_key = max_length, api_key
        page = resources.files("charlm.server").joinpath("page.html")
        self.page = page.read_text(encoding="utf-8")

    def cut(self):
        """End every stream still running (finish_reason "abort") and the engines' threads."""
        for m in self.served.values():
            if m.engine is not None:
                m.engine.close()

    def authorized(self, request):
        if self.api_key is None:
            return
        given = request.headers.get("authorization", "")
        if not secrets.compare_digest(given.encode(), f"Bearer {self.api_key}".encode()):
            raise ApiError(401, "a valid API key is needed: Authorization: Bearer KEY",
                           code="invalid_api_key")  # fmt: skip

    def take(self, n):
        if not self.capacity.take(n):
            raise ApiError(429, f"the server is running its most streams ({self.capacity.most}); "
                           "try again shortly", code="rate_limit_exceeded")  # fmt: skip

    async def index(self, request):
        return HTMLResponse(self.page)

    async def health(self, request):
        self.authorized(request)
        used = self.capacity.used
        return JSONResponse({"status": "ok", "models": list(self.served), "streams": used})

    async def list_models(self, request):
        self.authorized(request)
        return JSONResponse({"object": "list", "data": [m.card() for m in self.served.values()]})

    async def completions(self, request):
        self.authorized(request)
        body = protocol.parse_json(await _read_body(request))
        model = _model(self.served, body)
        want = protocol.completion(body, self.max_length)
        if model.engine is None:
            raise ApiError(400, f"'{model.name}' is a bidirectional (fill-in-the-blank) model: "
                           "POST /v1/fill with blanks in the prompt", "model")  # fmt: skip
        ids = _encode(model.ck.vocab, want["prompt"], want["skip_unknown"])
        self.take(want["n"])
        call = Call(model, want, ids)
        if want["stream"]:
            return StreamingResponse(call.events(), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache"})  # fmt: skip
        return JSONResponse(await call.whole(request))

    async def fill(self, request):
        self.authorized(request)
        body = protocol.parse_json(await _read_body(request))
        model = _model(self.served, body)
        want = protocol.fill(body)
        if model.engine is not None:
            raise ApiError(400, f"'{model.name}' reads left to right and cannot fill blanks: "
                           "POST /v1/completions", "model")  # fmt: skip
        self.take(1)
        try:
            text, blanks, n = await anyio.to_thread.run_sync(_fill, model.ck, want)
        finally:
            self.capacity.release()
        return JSONResponse({"id": protocol.new_id("fill"), "object": "fill",
                             "created": protocol.now(), "model": model.name, "text": text,
                             "blanks": blanks, "usage": protocol.usage(n, blanks)})  # fmt: skip


async def _read_body(request):
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        raise ApiError(413, f"the body is over {MAX_BODY:,} bytes")
    raw = bytearray()
    async for part in request.stream():
        raw += part
        if len(raw) > MAX_BODY:
            raise ApiError(413, f"the body is over {MAX_BODY:,} bytes")
    return bytes(raw)


def _model(served, body):
    name = body.get("model")
    if name is None and len(served) == 1:
        return next(iter(served.values()))
    if not isinstance(name, str) or name not in served:
        known = ", ".join(served)
        raise ApiError(404, f"the model {name!r} does not exist; this server has: {known}",
                       "model", "model_not_found")  # fmt: skip
    return served[name]


def _encode(vocab, prompt, skip_unknown):
    try:
        return vocab.encode(prompt, skip_unknown)
    except CharlmError as e:
        raise ApiError(400, f"prompt: {e}; send \"skip_unknown\": true to drop them",
                       "prompt") from None  # fmt: skip


def _fill(ck, want):
    """(filled text, blanks, prompt symbols) of a /v1/fill request, in a worker thread."""
    blank, prompt = want["blank"], want["prompt"]
    if blank not in prompt:
        raise ApiError(400, f"prompt has no blank '{blank}' to fill", "prompt")
    if len(prompt) > FILL_MAX_CHARS:
        raise ApiError(400, f"prompt: at most {FILL_MAX_CHARS:,} characters to fill", "prompt")
    _encode(ck.vocab, prompt.replace(blank, ""), want["skip_unknown"])  # names what is unknown
    ids, blanks = sample.parse_blanks(ck.vocab, prompt, blank, want["skip_unknown"])
    if len(blanks) > FILL_MAX_BLANKS:
        raise ApiError(400, f"prompt: at most {FILL_MAX_BLANKS} blanks", "prompt")
    rng = np.random.default_rng(want["seed"])
    filled = sample.fill(ck.params, ck.spec, ids, blanks, rng, want["temperature"],
                         want["top_k"] or None, want["greedy"], want["sweeps"],
                         want["top_p"])  # fmt: skip
    return ck.vocab.decode(filled), len(blanks), len(ids)


async def _api_error(request, exc):
    return JSONResponse(exc.body(), status_code=exc.status)


async def _http_error(request, exc):
    error = ApiError(exc.status_code, f"{request.method} {request.url.path}: {exc.detail}")
    return JSONResponse(error.body(), status_code=exc.status_code)


async def _server_error(request, exc):
    error = ApiError(500, f"the server failed: {type(exc).__name__}: {exc}")
    return JSONResponse(error.body(), status_code=500)
