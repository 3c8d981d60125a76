"""charlm.serve: trained models behind OpenAI's completions API, on uvicorn (charlm.server.app).

Checkpoints are read once, at the start, and never written or locked: a run can go on training
while it is served, and the server picks up a newer checkpoint when it is started again.
"""

import errno
import ipaddress
import socket
import threading
from pathlib import Path

from charlm.api import checks
from charlm.errors import ArgumentError, CharlmError
from charlm.run import checkpoint
from charlm.run import config as config_mod

LOOPBACK = ("127.0.0.1", "::1", "localhost")
EXTRA = 'charlm serve needs the serve extra: pip install -e ".[serve]" (Starlette and uvicorn)'


def models(runs=()):
    """[(name, Checkpoint, created)] for run folders or .npz files (none: the newest checkpoint
    under checkpoints/, as charlm sample). A run folder serves its best.npz (the lowest
    validation loss), else its latest.npz; each model is named after its run folder."""
    runs = () if runs is None else runs
    paths = [_path(r) for r in checks.several("runs", runs, (str, Path), "run folders")] or [
        checkpoint.newest(config_mod.OutputConfig().dir)]  # fmt: skip
    found, names = [], {}
    for path in paths:
        name = path.parent.name if path.name in (checkpoint.LATEST, checkpoint.BEST) else path.stem
        if name in names:
            raise CharlmError(
                f"{names[name]} and {path} would both be the model '{name}': "
                "serve one of them, or copy one into a folder of another name"
            )
        names[name] = path
        found.append((name, checkpoint.load(path), int(path.stat().st_mtime)))
    return found


def _path(run):
    path = Path(checks.path("runs", run))
    if path.is_dir() and (path / checkpoint.BEST).exists():
        return path / checkpoint.BEST
    return checkpoint.find(path)


def listen(host="127.0.0.1", port=8000):
    """A listening socket on host:port (port 0: one the system picks), or one line saying why
    not (a port in use, a host that is not this machine's)."""
    check_address(host, port)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError, ValueError) as e:
        raise ArgumentError("host", host, f"is not an address of this machine ({e})") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise ArgumentError("port", port, f"is in use on {host}: stop what holds it, or "
                                "choose another port (0: any free one)") from None  # fmt: skip
        if e.errno == errno.EACCES:
            raise ArgumentError("port", port, "needs privileges (ports below 1024): choose "
                                "one from 1024 up") from None  # fmt: skip
        raise ArgumentError("host", host, f"cannot be listened on: {e.strerror}") from None
    return sock


def check_address(host, port):
    checks.text("host", host)
    checks.integer("port", port, 0, 65535)
    if not host or "\0" in host:  # "" would mean every address this machine has
        raise ArgumentError("host", host, "must be an address or a name (0.0.0.0: all of them)")


def is_loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in LOOPBACK


DRAIN = 5  # seconds the completions still running get to finish once the server is stopped


def _server(uvicorn, config, cut):
    """uvicorn's Server, which on SIGINT or SIGTERM also cuts the completions still running
    after DRAIN seconds (finish_reason "abort"), so that their connections end and it exits
    cleanly rather than through uvicorn's forced cancellation."""

    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame):
            if not self.should_exit:
                timer = threading.Timer(DRAIN, cut)
                timer.daemon = True  # an idle server exits at once
                timer.start()
            super().handle_exit(sig, frame)

    return Server(config)


def serve(runs=(), host="127.0.0.1", port=8000, max_length=2000, max_streams=256,
          api_key=None, on_ready=None, should_stop=None):  # fmt: skip
    """Serve the checkpoints in runs (see models()) on http://host:port until SIGINT or
    SIGTERM: OpenAI's /v1/completions, /v1/models, /v1/fill for a bidirectional model, /health
    and a writing page at /. max_length: the most characters one completion may ask for;
    max_streams: completions running at once, over which a request is refused with 429;
    api_key: required of every request as "Authorization: Bearer KEY". on_ready(url, names) is
    called once the server runs; should_stop() is asked then (a Ctrl-C while the models were
    read: the server stops at once). Completions still running at the end get DRAIN seconds
    to finish, then are cut (finish_reason "abort")."""
    check_address(host, port)
    checks.integer("max_length", max_length, 1, checks.CHARS)
    checks.integer("max_streams", max_streams, 1, 100_000)
    checks.text("api_key", api_key, optional=True)
    if api_key is not None and (not api_key or not api_key.isprintable() or " " in api_key):
        raise ArgumentError("api_key", ArgumentError.HIDDEN, "must be printable, without spaces")
    checks.function("on_ready", on_ready)
    checks.function("should_stop", should_stop)
    try:
        import uvicorn

        from charlm.server.app import make_app
    except ImportError:
        raise CharlmError(EXTRA) from None
    found = models(runs)
    sock = listen(host, port)
    bound = sock.getsockname()
    url = f"http://{f'[{bound[0]}]' if ':' in bound[0] else bound[0]}:{bound[1]}"

    def started():  # uvicorn has taken SIGINT and SIGTERM by now: it drains on either
        if should_stop is not None and should_stop():
            server.should_exit = True
        elif on_ready is not None:
            on_ready(url, [name for name, _, _ in found])

    app = make_app(found, max_length, max_streams, api_key, started)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                            timeout_graceful_shutdown=DRAIN + 5)  # fmt: skip
    server = _server(uvicorn, config, app.state.cut)
    with sock:
        server.run(sockets=[sock])
