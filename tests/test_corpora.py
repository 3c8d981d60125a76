"""The corpus catalog, downloading from a local HTTP server on 127.0.0.1."""

import hashlib
import http.server
import socket
import threading
from functools import partial

import pytest

from charlm.errors import CharlmError
from charlm.run import corpora

TEXT = ("First Citizen:\nBefore we proceed any further, hear me speak.\n" * 300).encode()


@pytest.fixture
def server(tmp_path):
    """Serves tmp_path/www over HTTP on 127.0.0.1; yields its base URL."""
    www = tmp_path / "www"
    www.mkdir()
    (www / "input.txt").write_bytes(TEXT)
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *a: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def entry(url, data=TEXT):
    return corpora.Entry("tiny", url, len(data), hashlib.sha256(data).hexdigest(), "test")


def test_a_catalog_name_is_downloaded_once_verified_and_reused(tmp_path, server, monkeypatch):
    monkeypatch.setitem(corpora.CATALOG, "tiny", entry(f"{server}/input.txt"))
    seen = []
    path = corpora.resolve("tiny", tmp_path / "corpora", progress=lambda d, t: seen.append((d, t)))
    assert path == tmp_path / "corpora" / "tiny.txt" and path.read_bytes() == TEXT
    assert seen[-1] == (len(TEXT), len(TEXT)) and len(seen) >= 1
    assert list(path.parent.iterdir()) == [path]  # no temporary file left
    path.write_bytes(b"kept")  # present: used as it is, not fetched again
    assert corpora.resolve("tiny", tmp_path / "corpora").read_bytes() == b"kept"


def test_a_checksum_mismatch_is_refused_and_leaves_nothing(tmp_path, server, monkeypatch):
    wrong = entry(f"{server}/input.txt", data=TEXT[:-1] + b"?")
    monkeypatch.setitem(corpora.CATALOG, "tiny", wrong)
    with pytest.raises(CharlmError, match="does not match the catalog") as e:
        corpora.resolve("tiny", tmp_path / "corpora")
    assert f"place it at {tmp_path / 'corpora' / 'tiny.txt'}" in str(e.value)
    assert list((tmp_path / "corpora").iterdir()) == []


def test_offline_says_which_file_to_place_where(tmp_path, monkeypatch):
    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setitem(corpora.CATALOG, "tiny", entry(f"http://127.0.0.1:{port}/input.txt"))
    with pytest.raises(CharlmError) as e:
        corpora.resolve("tiny", tmp_path / "corpora")
    message = str(e.value)
    assert message.startswith("cannot download corpus 'tiny' (")
    assert f"download http://127.0.0.1:{port}/input.txt yourself" in message
    assert f"place it at {tmp_path / 'corpora' / 'tiny.txt'} ({len(TEXT):,} bytes" in message
    assert message.endswith("or train offline on python-stdlib (--corpus python-stdlib: this "
                            "Python's own standard library)")  # fmt: skip
    assert list((tmp_path / "corpora").iterdir()) == []


def test_a_path_is_used_as_it_is(tmp_path):
    assert corpora.resolve(str(tmp_path / "my.txt")) == tmp_path / "my.txt"


def test_the_catalog_holds_tinyshakespeare():
    e = corpora.CATALOG["tinyshakespeare"]
    assert e.size == 1_115_394 and e.sha256.startswith("86c4e6aa") and e.sha256.endswith("565ed")
    assert e.url.endswith("char-rnn/master/data/tinyshakespeare/input.txt")


def test_python_stdlib_is_built_from_the_stdlibs_sources_without_tests(tmp_path):
    lib = tmp_path / "lib"
    for rel, text in [
        ("a.py", "x = 1\n"),
        ("sub/b.py", "y = 2\n"),
        ("test/t.py", "no"),
        ("sub/tests/u.py", "no"),
        ("site-packages/s.py", "no"),
        (".hidden/h.py", "no"),
        ("c.txt", "not python"),
        ("z.py", "z" * 50),
        ("enc/cp1.py", "# Python Character Mapping Codec generated with gencodec.py\n"),
    ]:
        (lib / rel).parent.mkdir(parents=True, exist_ok=True)
        (lib / rel).write_text(text)
    (lib / "latin.py").write_bytes("caf\xe9\n".encode("latin-1"))  # not UTF-8: left out
    target = tmp_path / "corpora" / "python-stdlib.txt"
    record = corpora.build_python_stdlib(target, root=lib, limit=40)
    assert target.read_bytes() == b"x = 1\n\ny = 2\n\n"  # z.py would pass the limit
    assert record["files"] == ["a.py", "sub/b.py"] and record["bytes"] == 14
    assert record["sha256"] == hashlib.sha256(target.read_bytes()).hexdigest()
    import json
    import platform

    saved = json.loads(target.with_suffix(".json").read_text())
    assert saved == record and saved["python"] == platform.python_version()


def test_python_stdlib_needs_no_network_and_is_built_once(tmp_path):
    folder = tmp_path / "corpora"
    path = corpora.resolve("python-stdlib", folder)
    assert path == folder / "python-stdlib.txt"
    text, stamp = path.read_bytes(), path.stat().st_mtime_ns
    assert 1 << 20 < len(text) <= corpora.STDLIB_LIMIT and b"def " in text
    assert b"import unittest" not in text[:100]  # the first file is no test
    assert corpora.resolve("python-stdlib", folder).stat().st_mtime_ns == stamp
