"""charlm serve as its clients use it: a real server process on a loopback port, spoken to
with the openai client and httpx. Seeded completions are charlm sample's text, streamed or
not, one choice or several, alone or under load; every refusal is OpenAI's error shape and
the server goes on; a client that leaves frees its streams; SIGTERM ends it cleanly."""

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import charlm
from tests.helpers import write_corpus

openai = pytest.importorskip("openai", reason="the serve tests speak through the openai client")
httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn", reason='charlm serve needs pip install -e ".[serve]"')
KEY = "test-key-1234"
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "CHARLM_API_KEY": ""}


def started(args, cwd, timeout=60):
    """A `charlm serve` process and its URL, read from its first line."""
    proc = subprocess.Popen([sys.executable, "-m", "charlm", "serve", *args], cwd=cwd, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 1)
        if ready:
            line = proc.stdout.readline()
            found = re.search(r"http://[\d.]+:\d+", line)
            assert found, line + proc.stderr.read()
            return proc, found.group(0), line
        assert proc.poll() is None, proc.stderr.read()
    proc.kill()
    raise AssertionError("charlm serve did not start")


def stopped(proc):
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out, err


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve")
    write_corpus(root / "corpus.txt", 6000)
    sets = ["model.hidden_size=16", "train.seq_len=16", "train.eval_every=20",
            f"output.dir={root / 'checkpoints'}"]  # fmt: skip
    charlm.train(corpus=root / "corpus.txt", steps=40, run="uni", overrides=sets)
    charlm.train(corpus=root / "corpus.txt", steps=20, run="bi",
                 overrides=[*sets, "model.bidirectional=true"])  # fmt: skip
    runs = [str(root / "checkpoints" / r) for r in ("uni", "bi")]
    proc, url, line = started([*runs, "--port", "0", "--api-key", KEY, "--max-streams", "8",
                               "--max-length", "1000000"], root)  # fmt: skip
    yield {"url": url, "root": root, "line": line, "proc": proc,
           "uni": charlm.load(root / "checkpoints" / "uni" / "best.npz"),
           "bi": charlm.load(root / "checkpoints" / "bi" / "best.npz")}  # fmt: skip
    code, out, err = stopped(proc)
    assert code == 0 and "stopped (SIGTERM)" in out and "Traceback" not in err, err
    assert KEY not in out + err


@pytest.fixture
def client(server):
    return openai.OpenAI(base_url=server["url"] + "/v1", api_key=KEY, max_retries=0, timeout=60)


def http(server, method, path, key=KEY, **kwargs):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    kwargs.setdefault("timeout", 60)
    return httpx.request(method, server["url"] + path, headers=headers, **kwargs)


def sampled(model, prompt, length, seed, **options):
    """What charlm sample writes after prompt."""
    return model.sample(prompt, length, seed=seed, **options)[len(prompt) :]


def test_models_are_listed_under_their_run_names(server, client):
    models = {m.id: m for m in client.models.list().data}
    assert set(models) == {"uni", "bi"} and models["uni"].owned_by == "charlm"
    assert models["bi"].model_extra["charlm"]["bidirectional"] is True
    assert "serving uni, bi on http://127.0.0.1:" in server["line"]


def test_a_seeded_completion_is_charlm_samples_text(server, client):
    got = client.completions.create(model="uni", prompt="the cat ", max_tokens=120, seed=7,
                                    temperature=0.9, top_p=0.95)  # fmt: skip
    choice = got.choices[0]
    assert choice.text == sampled(server["uni"], "the cat ", 120, 7, temperature=0.9, top_p=0.95)
    assert choice.finish_reason == "length" and got.object == "text_completion"
    assert (got.usage.prompt_tokens, got.usage.completion_tokens) == (8, 120)
    echo = client.completions.create(model="uni", prompt="the ", max_tokens=5, seed=1, echo=True)
    assert echo.choices[0].text == server["uni"].sample("the ", 5, seed=1)


def test_n_choices_are_the_seed_and_the_seeds_after_it(server, client):
    got = client.completions.create(model="uni", prompt="a ", max_tokens=60, n=3, seed=40,
                                    extra_body={"top_k": 5})  # fmt: skip
    texts = [c.text for c in sorted(got.choices, key=lambda c: c.index)]
    assert texts == [sampled(server["uni"], "a ", 60, 40 + i, top_k=5) for i in range(3)]
    assert len(set(texts)) == 3 and got.usage.completion_tokens == 180


def test_a_streamed_completion_is_the_same_text(server, client):
    chunks = list(client.completions.create(model="uni", prompt="the ", max_tokens=300, seed=3,
                                            stream=True))  # fmt: skip
    assert "".join(c.choices[0].text for c in chunks) == sampled(server["uni"], "the ", 300, 3)
    assert [c.choices[0].finish_reason for c in chunks][-1] == "length"
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])
    raw = http(
        server,
        "POST",
        "/v1/completions",
        json={
            "model": "uni",
            "prompt": "a",
            "max_tokens": 3,
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    )
    events = [e for e in raw.text.split("\n\n") if e]
    assert events[-1] == "data: [DONE]" and raw.headers["content-type"].startswith("text/event")
    assert json.loads(events[-2][6:])["usage"]["completion_tokens"] == 3


def test_stop_ends_a_completion_before_its_stop_sequence(server, client):
    whole = sampled(server["uni"], "the ", 400, 11)
    stop = whole[30:33]
    got = client.completions.create(model="uni", prompt="the ", max_tokens=400, seed=11,
                                    stop=[stop, "\u00a7"])  # fmt: skip
    assert got.choices[0].text == whole[: whole.index(stop)]
    assert got.choices[0].finish_reason == "stop"
    streamed = client.completions.create(model="uni", prompt="the ", max_tokens=400, seed=11,
                                         stop=stop, stream=True)  # fmt: skip
    assert "".join(c.choices[0].text for c in streamed) == whole[: whole.index(stop)]


def test_under_load_every_text_is_what_it_is_alone(server, client):
    def one(seed):
        got = client.completions.create(model="uni", prompt="the dog ", max_tokens=200,
                                        seed=seed, temperature=1.2)  # fmt: skip
        return got.choices[0].text

    with ThreadPoolExecutor(8) as pool:
        texts = list(pool.map(one, range(100, 108)))
    assert texts == [sampled(server["uni"], "the dog ", 200, s, temperature=1.2)
                     for s in range(100, 108)]  # fmt: skip


def test_refusals_are_openai_errors_and_the_server_goes_on(server, client):
    cases = [
        (dict(model="nope", prompt="a"), openai.NotFoundError, "model"),
        (dict(model="uni", prompt="a", max_tokens=2_000_000), openai.BadRequestError, "max_tokens"),
        (dict(model="uni", prompt="a", n=17), openai.BadRequestError, "n"),
        (dict(model="uni", prompt="a\u00e9Z"), openai.BadRequestError, "prompt"),
        (dict(model="uni", prompt="a", temperature=-1), openai.BadRequestError, "temperature"),
        (dict(model="uni", prompt="a", logprobs=2), openai.BadRequestError, "logprobs"),
        (dict(model="bi", prompt="a"), openai.BadRequestError, "model"),
    ]
    for kwargs, kind, param in cases:
        with pytest.raises(kind) as e:
            client.completions.create(**kwargs)
        assert e.value.body["param"] == param, e.value.body
    bad = http(server, "POST", "/v1/completions", content=b"{not json")
    assert bad.status_code == 400 and "not JSON" in bad.json()["error"]["message"]
    big = http(server, "POST", "/v1/completions", content=b"x" * (1 << 20 | 1))
    assert big.status_code == 413 and big.json()["error"]["type"] == "invalid_request_error"
    assert http(server, "GET", "/v2/nothing").status_code == 404
    assert client.completions.create(model="uni", prompt="a", max_tokens=2).choices[0].text


def test_every_endpoint_but_the_page_needs_the_key(server):
    for path in ("/v1/models", "/health"):
        for key in (None, "wrong"):
            answer = http(server, "GET", path, key=key)
            assert answer.status_code == 401
            assert answer.json()["error"]["code"] == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=server["url"] + "/v1", api_key="wrong", max_retries=0).models.list()
    page = httpx.get(server["url"] + "/")  # the page holds no data; it asks with the key
    assert page.status_code == 200 and "<textarea" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # nothing from the web


def test_over_max_streams_is_429_and_a_client_that_leaves_frees_its_streams(server, client):
    body = {"model": "uni", "prompt": "the ", "max_tokens": 1_000_000, "n": 8, "stream": True}
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.stream("POST", server["url"] + "/v1/completions", json=body, headers=headers,
                      timeout=60) as held:  # fmt: skip
        chunks = held.iter_raw()  # (kept: a dropped iterator closes the connection)
        first = next(chunks)  # its eight streams are running
        assert held.status_code == 200 and first.startswith(b"data: "), first
        assert http(server, "GET", "/health").json()["streams"] == 8
        with pytest.raises(openai.RateLimitError) as e:
            client.completions.create(model="uni", prompt="a", max_tokens=5)
        assert e.value.status_code == 429 and e.value.body["code"] == "rate_limit_exceeded"
    deadline = time.monotonic() + 5
    while http(server, "GET", "/health").json()["streams"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert http(server, "GET", "/health").json()["streams"] == 0
    assert client.completions.create(model="uni", prompt="a", max_tokens=5).choices[0].text


def test_a_client_that_gives_up_on_a_whole_answer_frees_its_streams(server):
    body = {"model": "uni", "prompt": "the ", "max_tokens": 1_000_000, "n": 3}
    with pytest.raises(httpx.ReadTimeout):  # the client leaves while the text is written
        http(server, "POST", "/v1/completions", json=body, timeout=1.0)
    deadline = time.monotonic() + 5
    while http(server, "GET", "/health").json()["streams"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert http(server, "GET", "/health").json()["streams"] == 0


def test_a_cloze_model_fills_blanks_as_charlm_sample_does(server):
    prompt = "the c_t sat on the _at"
    answer = http(server, "POST", "/v1/fill", json={"model": "bi", "prompt": prompt, "seed": 5})
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert got["text"] == server["bi"].fill(prompt, seed=5) and got["blanks"] == 2
    assert len(got["text"]) == len(prompt) and got["text"][:5] == "the c"
    wrong = http(server, "POST", "/v1/fill", json={"model": "uni", "prompt": prompt})
    assert wrong.status_code == 400 and wrong.json()["error"]["param"] == "model"
    none = http(server, "POST", "/v1/fill", json={"model": "bi", "prompt": "no blanks"})
    assert none.status_code == 400 and "no blank" in none.json()["error"]["message"]


def test_a_port_in_use_is_one_line_and_another_host_is_said(server, tmp_path):
    port = server["url"].rsplit(":", 1)[1]
    run = str(server["root"] / "checkpoints" / "uni")
    proc = subprocess.run([sys.executable, "-m", "charlm", "serve", run, "--port", port],
                          capture_output=True, text=True, env=ENV, timeout=60)  # fmt: skip
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == (f"charlm: error: --port {port}: is in use on 127.0.0.1: stop what "
                           "holds it, or choose another port (0: any free one)\n")  # fmt: skip
    other, url, _ = started([run, "--host", "0.0.0.0", "--port", "0"], tmp_path)
    code, out, err = stopped(other)
    assert "reachable from other machines; anyone who can reach it can use it" in out
    assert code == 0 and err == ""


def test_sigterm_drains_then_cuts_what_still_runs_and_exits_cleanly(server, tmp_path):
    run = str(server["root"] / "checkpoints" / "uni")
    proc, url, _ = started([run, "--port", "0", "--max-length", "10000000"], tmp_path)
    body = {"model": "uni", "prompt": "a", "max_tokens": 10_000_000, "stream": True}
    with httpx.stream("POST", url + "/v1/completions", json=body, timeout=60) as long:
        lines = long.iter_lines()
        assert next(lines).startswith("data: {")
        t = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        rest = [x for x in lines if x]  # the stream goes on while it drains, then ends
    out, err = proc.communicate(timeout=30)
    code = proc.returncode
    ends = [json.loads(x[6:]) for x in rest if x.startswith("data: {")][-1]
    assert ends["choices"][0]["finish_reason"] == "abort" and rest[-1] == "data: [DONE]"
    assert 4 < time.monotonic() - t < 15
    assert code == 0 and "stopped (SIGTERM)" in out and err == "", err
