"""charlm neurons, gates and score: on hand-set weights a unit that counts brackets ranks
first; the features have their known values on small texts; the gate fractions are those of
the gates computed from PyTorch's equations; the surprisal is the log-softmax and its total
is the evaluation loss."""

import json

import numpy as np
import pytest

import charlm
from charlm.inspect import features
from charlm.run import checkpoint
from charlm.run import train as training
from tests.helpers import invoke, reference_step, refused, tree_state

TEXT = ('He said "go (to [the] well)" and\n  they went (\'twas late) to it.\n'
        "Then (a (b (c (d) c) b) a) and THE end, don't 'worry'.\n")  # fmt: skip


def known(name, text):
    return "".join(str(int(v)) if v < 10 else "+" for v in features.compute(name, text))


def test_the_features_have_their_known_values():
    assert known("quote", 'a "bc" d') == "00111000"  # from the opening mark to the closing
    assert known("quote", "don't 'x' y'") == "000000110000"  # apostrophes; no partner
    assert known("quote", 'a "b\nc" d') == "000000000"  # a quotation stays on its line
    assert known("line-position", "ab\ncd\n") == "120120"
    assert known("bracket-depth", "a(b[c]d)e)f") == "01122110000"  # after reading each
    assert known("indent", "  ab\n c\nd") == "122201100"
    assert known("uppercase", "aB C") == "0101"
    assert known("vowel", "bAe y") == "01100"
    assert known("space", "a b\n\tc") == "010110"
    assert known("regex:[0-9]+", "ab12c3") == "001101"
    with pytest.raises(charlm.CharlmError, match="unknown feature 'colour'"):
        features.compute("colour", "x")
    with pytest.raises(charlm.CharlmError, match=r"regex:\(: not a valid regular expression"):
        features.compute("regex:(", "x")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A trained tiny RNN, LSTM and GRU in float64, and the RNN's weights set by hand:
    unit 0 counts open brackets, unit 1 copies 'uppercase'."""
    root = tmp_path_factory.mktemp("units")
    (root / "corpus.txt").write_text(TEXT * 30, encoding="utf-8")
    out = {}
    for run in ("rnn", "lstm", "gru", "bilstm"):
        cell = run.removeprefix("bi")
        charlm.train(corpus=root / "corpus.txt", steps=30, run=run, overrides=[
            f"model.type={cell}", f"model.bidirectional={run.startswith('bi')}",
            "model.hidden_size=6", "model.num_layers=2",
            "train.batch_size=2", "train.seq_len=16", "train.dtype=float64",
            "train.report=false", f"output.dir={root / 'checkpoints'}"])  # fmt: skip
        out[run] = root / "checkpoints" / run / "latest.npz"
    ck = checkpoint.load(out["rnn"])
    p, v = ck.params, ck.vocab
    p["weight_ih_l0"][:2] = 0.0
    p["weight_hh_l0"][:2] = 0.0
    p["bias_ih_l0"][:2] = p["bias_hh_l0"][:2] = 0.0
    for ch, step in zip("([{<)]}>", [0.01] * 4 + [-0.01] * 4, strict=True):
        if ch in TEXT:
            p["weight_ih_l0"][0, v.encode(ch)[0]] = step
    p["weight_hh_l0"][0, 0] = 1.0  # h0_t = tanh(h0_{t-1} + 0.01 (open - close)): ~ depth
    for ch in set(TEXT):
        if ch.isupper():
            p["weight_ih_l0"][1, v.encode(ch)[0]] = 2.0  # h1_t = tanh(2) [x_t uppercase]
    out["hand"] = root / "hand.npz"
    checkpoint.save(out["hand"], ck)
    return root, out


def test_a_unit_set_to_count_brackets_ranks_first(models):
    root, m = models
    result = invoke("neurons", TEXT, "--checkpoint", m["hand"], "--find", "bracket-depth",
                    "--find", "uppercase", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    top = json.loads(result.stdout)["top"]
    unit, r = top["bracket-depth"]["units"][0]
    assert unit == "0:0" and r > 0.999
    unit, r = top["uppercase"]["units"][0]
    assert unit == "0:1" and r == pytest.approx(1.0, abs=1e-12)  # an affine copy: exactly 1
    assert top["bracket-depth"]["fresh_model_best_r"] < 0.99  # chance does not reach it
    result = invoke("neurons", TEXT, "--checkpoint", m["hand"], "--find", "bracket-depth")
    assert result.exit_code == 0 and "bracket-depth: unit 0:0, r = +1.000" in result.stdout


def test_the_json_correlations_are_pearsons_r(models):
    root, m = models
    result = invoke("neurons", TEXT, "--checkpoint", m["lstm"], "--state", "c", "--json",
                    "--find", "line-position")  # fmt: skip
    doc = json.loads(result.stdout)
    out = charlm.load(m["lstm"]).forward(TEXT)
    f = features.compute("line-position", TEXT)
    assert len(doc["units"]) == 12 and doc["units"][7]["unit"] == "1:1"
    a = out["c"][1][:, 1]
    assert doc["units"][7]["r"]["line-position"] == pytest.approx(np.corrcoef(a, f)[0, 1])
    assert doc["units"][7]["mean"] == pytest.approx(a.mean())


def test_gate_fractions_are_those_of_the_gates_from_pytorchs_equations(models):
    root, m = models
    for cell, names in (("lstm", ("input", "forget", "output")), ("gru", ("reset", "update"))):
        ck = checkpoint.load(m[cell])
        result = invoke("gates", TEXT, "--checkpoint", m[cell], "--json")
        assert result.exit_code == 0, result.output
        got = json.loads(result.stdout)["layers"]
        x = np.eye(len(ck.vocab))[ck.vocab.encode(TEXT)]  # one-hot (T, V)
        for layer in range(2):
            p = {k: ck.params[f"{k}_l{layer}"] for k in ("weight_ih", "bias_ih", "weight_hh",
                                                         "bias_hh")}  # fmt: skip
            H, state, seen, outs = 6, None, [], []
            state = (np.zeros(H),) if cell == "gru" else (np.zeros(H), np.zeros(H))
            for xt in x:
                a_i, a_h = xt @ p["weight_ih"].T + p["bias_ih"], state[0] @ p["weight_hh"].T
                a_h = a_h + p["bias_hh"]
                sig = 1 / (1 + np.exp(-(a_i + a_h)))
                seen.append([sig[0:H], sig[H : 2 * H], sig[3 * H :]] if cell == "lstm"
                            else [sig[0:H], sig[H : 2 * H]])  # fmt: skip
                state = reference_step(cell, p, xt, state)
                outs.append(state[0])
            x = np.array(outs)
            for g, name in enumerate(names):
                values = np.array([s[g] for s in seen])
                assert got[str(layer)][name]["left"] == pytest.approx((values < 0.1).mean(0))
                assert got[str(layer)][name]["right"] == pytest.approx((values > 0.9).mean(0))


def test_score_is_the_log_softmax_and_its_total_the_evaluation(models):
    root, m = models
    result = invoke("score", TEXT, "--checkpoint", m["gru"], "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    model = charlm.load(m["gru"])
    ids = model.vocab.encode(TEXT)
    logits = model.forward(TEXT)["logits"]
    logp = logits - logits.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    want = -logp[np.arange(len(ids) - 1), ids[1:]] / np.log(2)
    assert doc["chars"][0]["bits"] is None  # no context for the first
    assert [c["bits"] for c in doc["chars"][1:]] == pytest.approx(want, abs=1e-12)
    loss, n = training.evaluate(model.params, model.spec, ids, 1, 16)  # one stream
    assert n == doc["chars_scored"] == len(ids) - 1
    assert abs(doc["nats_per_char"] - loss) < 1e-9
    best = doc["chars"][5]["top"]
    assert len(best) == 5 and best[0][1] == pytest.approx(np.exp(logp[4]).max())
    assert doc["spans"][0]["bits"] == max(s["bits"] for s in doc["spans"])


def test_refusals_are_one_line_and_pages_are_not_overwritten(models, tmp_path, monkeypatch):
    root, m = models
    monkeypatch.chdir(tmp_path)
    c = ["--checkpoint", m["lstm"]]
    refused(invoke("neurons", "abc", *c, "--find", "colour"), "unknown feature 'colour'")
    refused(invoke("neurons", "abc", *c, "--find", "regex:(("), "not a valid regular expression")
    refused(invoke("neurons", "abc", *c, "--unit", "1:6"), "layer 1 has units 0 to 5")
    refused(invoke("neurons", "abc", *c, "--unit", "7:0"), "expected LAYER:UNIT")
    refused(invoke("neurons", "abc", *c, "--state", "x"), "--state 'x': expected h or c")
    refused(invoke("neurons", "abc", "--checkpoint", m["gru"], "--state", "c"), "no memory c")
    refused(invoke("neurons", "abc", *c, "--top", 0), "--top 0: must be 1 or more")
    refused(invoke("neurons", "", *c), "give the text to read")
    refused(invoke("score", "a", *c), "nothing to predict it from")
    refused(invoke("score", "abc§", *c), "not in the model's vocabulary")
    refused(invoke("gates", "abc", "--checkpoint", m["rnn"]), "a vanilla RNN has no gates")
    assert invoke("score", "He§ said", *c, "--skip-unknown").exit_code == 0
    doc = json.loads(invoke("neurons", "abc", *c, "--find", "indent", "--json").stdout)
    assert doc["constant"] == ["indent"] and doc["top"] == {}  # no ranking of a constant
    (tmp_path / "page.html").write_text("mine", encoding="utf-8")
    before = tree_state(tmp_path)
    for cmd in ("neurons", "score", "gates"):
        refused(invoke(cmd, "He said", *c, "--html", "page.html"), "already exists")
    refused(invoke("gates", "He said", *c, "--png", "/dev/full"), "/dev/full")
    assert tree_state(tmp_path) == before
    assert invoke("gates", "He said", *c, "--png", "g.png", "--html", "page.html",
                  "--force").exit_code == 0  # fmt: skip
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"
    assert "layer 1, forget gate" in (tmp_path / "page.html").read_text(encoding="utf-8")


def test_a_bidirectional_model_scores_each_character_from_both_sides(models):
    root, m = models
    doc = json.loads(invoke("score", TEXT, "--checkpoint", m["bilstm"], "--json").stdout)
    model = charlm.load(m["bilstm"])
    ids = model.vocab.encode(TEXT)
    # evaluate scores a cloze model on every character: one window holding the whole text
    loss, n = training.evaluate(model.params, model.spec, ids, 1, len(ids))
    assert n == doc["chars_scored"] == len(ids) and abs(doc["nats_per_char"] - loss) < 1e-9
    result = invoke("neurons", TEXT, "--checkpoint", m["bilstm"], "--json", "--state", "c")
    names = [u["unit"] for u in json.loads(result.stdout)["units"]]
    assert names[:2] == ["0:0", "0:1"] and names[-1] == "1r:5" and len(names) == 24
    c = model.forward(TEXT)["c"][3][:, 5]  # the reverse stack's layer 1, in reading order
    f = features.compute("vowel", TEXT)
    doc = json.loads(invoke("neurons", TEXT, "--checkpoint", m["bilstm"], "--json",
                            "--state", "c", "--find", "vowel").stdout)  # fmt: skip
    assert doc["units"][-1]["r"]["vowel"] == pytest.approx(np.corrcoef(c, f)[0, 1])


def test_a_byte_level_model_is_read_a_byte_a_position(tmp_path):
    text = "Café (été) naïve, «quoi» — don't\n" * 40
    (tmp_path / "c.txt").write_text(text, encoding="utf-8")
    charlm.train(corpus=tmp_path / "c.txt", steps=3, run="b", overrides=[
        "data.encoding=bytes", "model.hidden_size=4", "model.num_layers=1",
        "train.batch_size=2", "train.seq_len=8", "train.report=false",
        f"output.dir={tmp_path / 'checkpoints'}"])  # fmt: skip
    run = tmp_path / "checkpoints" / "b"
    result = invoke("neurons", "(été)", "--checkpoint", run, "--find", "bracket-depth", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["chars"] == 7  # é is two bytes
    doc = json.loads(invoke("score", "(été)", "--checkpoint", run, "--json").stdout)
    assert [c["char"] for c in doc["chars"]][:3] == ["(", "\\xc3", "\\xa9"]


def test_with_no_text_the_start_of_the_validation_split_is_read(models):
    root, m = models
    model = charlm.load(m["gru"])
    val = training.load_corpus(model.config, model.vocab).val
    (root / "val.txt").write_text("".join(model.vocab.symbol(i) for i in val), encoding="utf-8")
    assert len(val) < 10_000  # the whole split, here
    default = json.loads(invoke("score", "--checkpoint", m["gru"], "--json").stdout)
    given = json.loads(invoke("score", "--checkpoint", m["gru"], "--json", "--file",
                              root / "val.txt").stdout)  # fmt: skip
    assert default == given and default["chars_scored"] == len(val) - 1
