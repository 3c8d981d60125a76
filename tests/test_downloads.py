"""Downloading and extracting catalog corpora (run/download.py) from a server on 127.0.0.1 that
serves what the network may: a plain file, a zip, a truncated body, a stalled or dropped
connection, a wrong file. The real catalog's URLs and checksums are checked by their form."""

import hashlib
import http.server
import io
import re
import threading
import time
import zipfile

import pytest

from charlm.errors import CharlmError
from charlm.run import corpora, download

TEXT = ("<page><title>Anarchism</title><text>Anarchism is a political philosophy</text>\n"
        * 400).encode()  # fmt: skip


def zipped(name, data):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, data)
    return out.getvalue()


ZIP = zipped("wiki", TEXT)


class Handler(http.server.BaseHTTPRequestHandler):
    """GET /plain, /wiki.zip: the file; /truncated: a Content-Length it does not keep to;
    /dropped: half the body, no length, then the connection closed; /stalled: the headers and
    a block, then silence; /missing: 404."""

    requests = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.requests.append(self.path)
        body = {"/plain": TEXT, "/wiki.zip": ZIP}.get(self.path)
        if self.path == "/missing":
            self.send_error(404)
            return
        self.send_response(200)
        if self.path == "/truncated":
            self.send_header("Content-Length", str(len(TEXT)))
            self.end_headers()
            self.wfile.write(TEXT[: len(TEXT) // 3])
        elif self.path == "/dropped":
            self.end_headers()
            self.wfile.write(TEXT[: len(TEXT) // 2])
        elif self.path == "/stalled":
            self.send_header("Content-Length", str(len(TEXT)))
            self.end_headers()
            self.wfile.write(TEXT[:1000])
            self.wfile.flush()
            time.sleep(3)
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        self.close_connection = True


@pytest.fixture
def server():
    Handler.requests = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def add(monkeypatch, url, data=TEXT, member=None, text_size=None):
    sha = hashlib.sha256(data).hexdigest()
    entry = corpora.Entry("wiki", url, len(data), sha, "test", member, text_size)
    monkeypatch.setitem(corpora.CATALOG, "wiki", entry)
    return entry


def refused(folder, match):
    with pytest.raises(CharlmError, match=match) as e:
        corpora.resolve("wiki", folder)
    assert "\n" not in str(e.value)
    return str(e.value)


def test_a_zip_is_downloaded_once_its_member_extracted_and_the_archive_removed(
    tmp_path, server, monkeypatch
):
    add(monkeypatch, f"{server}/wiki.zip", ZIP, "wiki", len(TEXT))
    seen = []
    folder = tmp_path / "corpora"
    path = corpora.resolve("wiki", folder, progress=lambda d, t: seen.append((d, t)))
    assert path == folder / "wiki.txt" and path.read_bytes() == TEXT
    assert seen[-1] == (len(ZIP), len(ZIP))
    assert sorted(p.name for p in folder.iterdir()) == ["wiki.txt"]  # no archive, no temporary
    assert corpora.resolve("wiki", folder) == path and Handler.requests == ["/wiki.zip"]


def test_an_archive_placed_by_hand_is_verified_and_extracted_with_no_network(tmp_path, monkeypatch):
    add(monkeypatch, "http://127.0.0.1:9/nowhere.zip", ZIP, "wiki", len(TEXT))
    folder = tmp_path / "corpora"
    folder.mkdir()
    (folder / "wiki.zip").write_bytes(ZIP)
    assert corpora.resolve("wiki", folder).read_bytes() == TEXT
    (folder / "wiki.txt").unlink()
    (folder / "wiki.zip").write_bytes(ZIP[:-1] + b"!")  # not the catalog's
    message = refused(folder, r"wiki.zip: not the catalog's 'wiki' \(")
    assert f"({len(ZIP):,} bytes, sha256 {hashlib.sha256(ZIP).hexdigest()})" in message
    assert sorted(p.name for p in folder.iterdir()) == ["wiki.zip"]


@pytest.mark.parametrize(
    "archive, member, size, match",
    [
        (zipped("other", TEXT), "wiki", len(TEXT), "the archive has no 'wiki'; delete it"),
        (ZIP, "wiki", len(TEXT) - 1, f"holds {len(TEXT):,} bytes, not the catalog's"),
        (b"PK\x03\x04 not a zip at all", "wiki", len(TEXT), "the archive is damaged"),
    ],
)
def test_a_wrong_archive_is_refused_and_no_corpus_written(
    tmp_path, server, monkeypatch, archive, member, size, match
):
    folder = tmp_path / "corpora"
    folder.mkdir()
    (folder / "wiki.zip").write_bytes(archive)
    add(monkeypatch, f"{server}/wiki.zip", archive, member, size)
    refused(folder, match)
    assert sorted(p.name for p in folder.iterdir()) == ["wiki.zip"] and not Handler.requests


def test_a_member_whose_bytes_were_damaged_fails_its_crc(tmp_path, monkeypatch):
    stored = io.BytesIO()
    with zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as z:
        z.writestr("wiki", TEXT)
    damaged = stored.getvalue().replace(b"political", b"politicol", 1)
    folder = tmp_path / "corpora"
    folder.mkdir()
    (folder / "wiki.zip").write_bytes(damaged)
    add(monkeypatch, "http://127.0.0.1:9/x.zip", damaged, "wiki", len(TEXT))
    refused(folder, r"wiki.zip: the archive is damaged \(Bad CRC-32")
    assert not (folder / "wiki.txt").exists()


@pytest.mark.parametrize(
    "path, match",
    [
        (
            "/truncated",
            rf"^the download of corpus 'wiki' from \S+ stopped after {len(TEXT) // 3:,} "
            rf"of {len(TEXT):,} bytes; run the command again, or download",
        ),
        ("/dropped", rf"stopped after {len(TEXT) // 2:,} of {len(TEXT):,} bytes"),
        ("/stalled", r"cannot download corpus 'wiki' \(timed out\)"),
        ("/missing", r"cannot download corpus 'wiki' \(Not Found\)"),
    ],
)
def test_a_broken_download_is_one_line_and_leaves_nothing(
    tmp_path, server, monkeypatch, path, match
):
    monkeypatch.setattr(download, "TIMEOUT", 0.5)
    add(monkeypatch, f"{server}{path}")
    folder = tmp_path / "corpora"
    message = refused(folder, match)
    assert f"download {server}{path} yourself and place it at {folder / 'wiki.txt'}" in message
    assert list(folder.iterdir()) == []


def test_a_server_sending_more_than_the_catalog_says_is_cut_off(tmp_path, server, monkeypatch):
    entry = add(monkeypatch, f"{server}/plain", TEXT[:5000])
    refused(tmp_path, rf"does not match the catalog \(more than {entry.size:,} bytes\); download")
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_during_a_download_leaves_nothing(tmp_path, server, monkeypatch):
    add(monkeypatch, f"{server}/plain")

    def interrupt(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        corpora.resolve("wiki", tmp_path / "corpora", progress=interrupt)
    assert list((tmp_path / "corpora").iterdir()) == []


def test_the_catalogs_entries_have_the_form_of_real_ones():
    for name, e in corpora.CATALOG.items():
        assert e.name == name and e.filename == f"{name}.txt"
        assert re.fullmatch(r"https://[a-z0-9.-]+/[\w./-]+", e.url), e.url
        assert re.fullmatch(r"[0-9a-f]{64}", e.sha256) and 10**5 < e.size < 10**9
        assert (e.member is None) == (e.text_size is None) == (not e.url.endswith(".zip"))
    for name in ("enwik8", "text8"):
        e = corpora.CATALOG[name]
        assert e.url == f"https://mattmahoney.net/dc/{name}.zip" and e.member == name
        assert e.text_size == 10**8  # the benchmark is defined on the first 10^8 bytes
    assert corpora.CATALOG["enwik8"].size == 36_445_475
    assert corpora.CATALOG["text8"].size == 31_344_016


def test_two_downloads_at_once_both_end_with_the_one_whole_file(tmp_path, server, monkeypatch):
    add(monkeypatch, f"{server}/plain")
    folder = tmp_path / "corpora"

    def the_other_finishes_first(done, total):
        if not (folder / "wiki.txt").exists():
            (folder / "wiki.txt").write_bytes(TEXT)  # as the other process's rename would

    path = corpora.resolve("wiki", folder, progress=the_other_finishes_first)
    assert path.read_bytes() == TEXT and sorted(p.name for p in folder.iterdir()) == ["wiki.txt"]
