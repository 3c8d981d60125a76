"""charlm export / import: the torch.nn module in docs/usage.md loads an exported checkpoint with
strict=True and gives charlm's logits; a model built in torch imports and evaluates to torch's
loss; export -> import is bit-exact. Skipped without torch or safetensors."""

import contextlib
import io
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from charlm.cli import app
from charlm.nn.model import forward
from charlm.run import checkpoint, config, train
from charlm.run.data import Vocab

torch = pytest.importorskip("torch")
safetensors_numpy = pytest.importorskip("safetensors.numpy")
from safetensors.torch import save_file  # noqa: E402 (after the skip)

runner = CliRunner()
README = Path(__file__).parent.parent / "docs" / "usage.md"
CHARS = "\n EHLabcdeo"  # sorted, and holds the README snippet's prime "HELL"


def readme_snippet():
    """The README's PyTorch block: the one that calls load_state_dict."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    (code,) = [b for b in blocks if "load_state_dict" in b]
    return code


def run_snippet(folder, model_file, monkeypatch):
    """Run the README's code in folder with model_file as its model.safetensors."""
    (folder / "model.safetensors").write_bytes(Path(model_file).read_bytes())
    monkeypatch.chdir(folder)
    namespace, out = {"__name__": "readme"}, io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(readme_snippet(), namespace)
    return namespace, out.getvalue()


def make_checkpoint(tmp_path, cell, bidirectional, layers):
    sets = [f"model.type={cell}", "model.hidden_size=6", f"model.num_layers={layers}",
            f"model.bidirectional={str(bidirectional).lower()}", "model.dropout=0.25",
            f"model.embedding_size={5 if layers == 2 else 'null'}"]  # fmt: skip
    cfg = config.load(None, sets)
    vocab = Vocab(np.array([ord(c) for c in CHARS], dtype=np.uint32))
    ck = train.new_run(cfg, vocab)
    path = tmp_path / "ck.npz"
    checkpoint.save(path, ck)
    return ck, path


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_the_readme_module_loads_an_export_and_gives_charlms_logits(
    tmp_path, monkeypatch, cell, bidirectional, layers
):
    ck, path = make_checkpoint(tmp_path, cell, bidirectional, layers)
    result = invoke("export", path, tmp_path / "m.safetensors")
    assert result.exit_code == 0, result.output
    assert "wrote" in result.stdout and f"{len(ck.params)} tensors" in result.stdout
    ns, printed = run_snippet(tmp_path, tmp_path / "m.safetensors", monkeypatch)
    x = np.random.default_rng(0).integers(0, len(CHARS), (9, 2))
    mine, _, _ = forward(ck.params, ck.spec, x)
    with torch.no_grad():
        theirs, _ = ns["model"](torch.from_numpy(x))
    np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-5, atol=1e-5)
    if not bidirectional:  # the snippet sampled 200 characters after "HELL"
        assert printed.startswith("HELL") and len(printed) == 4 + 200 + 1


def test_export_import_round_trip_is_bit_exact(tmp_path):
    ck, path = make_checkpoint(tmp_path, "lstm", True, 2)
    assert invoke("export", path, tmp_path / "a.safetensors").exit_code == 0
    result = invoke("import", tmp_path / "a.safetensors", tmp_path / "back.npz")
    assert result.exit_code == 0, result.output
    assert "starts at step 0 with a fresh adam state" in result.stdout
    back = checkpoint.load(tmp_path / "back.npz")
    assert back.config == ck.config and np.array_equal(back.vocab.codes, ck.vocab.codes)
    assert back.params.keys() == ck.params.keys()
    for name, p in ck.params.items():
        assert back.params[name].dtype == p.dtype and np.array_equal(back.params[name], p)
    assert invoke("export", tmp_path / "back.npz", tmp_path / "b.safetensors").exit_code == 0
    a = safetensors_numpy.load_file(tmp_path / "a.safetensors")
    b = safetensors_numpy.load_file(tmp_path / "b.safetensors")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    checkpoint.check_resumable(tmp_path / "back.npz", back)  # train --resume can use it


@pytest.mark.parametrize("bidirectional", [False, True])
def test_a_model_built_in_torch_imports_and_evaluates_to_torchs_loss(
    tmp_path, monkeypatch, bidirectional
):
    torch.manual_seed(0)
    V, E, H = len(CHARS), 4, 7
    modules = {"embedding": torch.nn.Embedding(V, E), "rnn": torch.nn.GRU(E, H, 2)}
    if bidirectional:
        modules["rnn_reverse"] = torch.nn.GRU(E, H, 2)
    modules["head"] = torch.nn.Linear(H * (2 if bidirectional else 1), V)
    net = torch.nn.ModuleDict(modules)
    meta = {"vocab": json.dumps([ord(c) for c in CHARS])}  # no config: read from the tensors
    save_file(net.state_dict(), tmp_path / "torch.safetensors", metadata=meta)
    result = invoke("import", tmp_path / "torch.safetensors", tmp_path / "t.npz")
    assert result.exit_code == 0, result.output
    assert f"{'bi-' if bidirectional else ''}gru x2 (embedding 4), hidden 7" in result.stdout

    rng = np.random.default_rng(1)
    text = "".join(rng.choice(list(CHARS), 60))  # one window of 64: one stream, one forward
    (tmp_path / "t.txt").write_text(text, encoding="utf-8")
    got = json.loads(invoke("eval", "--checkpoint", tmp_path / "t.npz", "--text",
                            tmp_path / "t.txt", "--json").stdout)  # fmt: skip
    ids = torch.tensor([CHARS.index(c) for c in text])
    with torch.no_grad():
        x = ids if bidirectional else ids[:-1]  # a cloze model scores every character
        inp = net["embedding"](x)[:, None]
        if bidirectional:  # x_t from x_<t and x_>t, as charlm's cloze model
            fw = net["rnn"](inp)[0]
            bw = net["rnn_reverse"](inp.flip(0))[0].flip(0)
            zero = torch.zeros_like(fw[:1])
            feat = torch.cat([torch.cat([zero, fw[:-1]]), torch.cat([bw[1:], zero])], -1)
            target = x
        else:
            feat, target = net["rnn"](inp)[0], ids[1:]
        loss = torch.nn.functional.cross_entropy(net["head"](feat)[:, 0], target).item()
    assert got["chars"] == (60 if bidirectional else 59)
    assert got["loss"] == pytest.approx(loss, rel=1e-5)


def test_handoff_errors_are_one_line(tmp_path, monkeypatch):
    ck, path = make_checkpoint(tmp_path, "rnn", False, 1)
    out = tmp_path / "m.safetensors"
    out.write_text("mine")
    result = invoke("export", path, out)
    assert result.exit_code == 2 and "already exists; pass --force to replace it" in result.stderr
    assert out.read_text() == "mine"
    tensors = {"rnn.weight_hh_l0": np.zeros((6, 6), np.float32)}
    safetensors_numpy.save_file(tensors, tmp_path / "novocab.safetensors")
    result = invoke("import", tmp_path / "novocab.safetensors", tmp_path / "x.npz")
    assert result.exit_code == 2 and "no 'vocab' metadata; charlm needs the characters" in (
        result.stderr
    )
    safetensors_numpy.save_file({"encoder.w": np.zeros(3, np.float32)}, tmp_path / "o.safetensors")
    result = invoke("import", tmp_path / "o.safetensors", tmp_path / "x.npz")
    assert result.exit_code == 2 and "encoder.w are not part of a charlm model" in result.stderr
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 50)
    result = invoke("import", tmp_path / "junk.safetensors", tmp_path / "x.npz")
    assert result.exit_code == 2 and "not a readable .safetensors file" in result.stderr
    assert not (tmp_path / "x.npz").exists()
    monkeypatch.setitem(sys.modules, "safetensors", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    result = invoke("export", path, tmp_path / "new.safetensors")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert 'needs the safetensors package: pip install "charlm[export]"' in result.stderr
