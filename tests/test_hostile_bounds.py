"""Numbers have bounds everywhere: every numeric config key and option has a declared range,
listed in docs/usage.md's table, and a value outside it, however large, small or odd, is one
line naming it, before anything is read or written; a value inside it is the value used."""

import dataclasses
import inspect
import re
import typing
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import charlm
from charlm.cli import app
from charlm.errors import CharlmError
from charlm.run import config
from charlm.run.rules import base_type
from tests.helpers import TINY, invoke, refused

DOCS = (Path(__file__).parent.parent / "docs" / "usage.md").read_text(encoding="utf-8")


def _fmt(v):
    v = int(v) if isinstance(v, float) and v.is_integer() and abs(v) < 1e15 else v
    return f"{v:,}" if isinstance(v, int) else f"{v:g}"


def numeric_keys():
    """[(section.key, field)] of every int or float config key."""
    return [
        (f"{s}.{f.name}", f)
        for s, cls in config.SECTIONS.items()
        for f in dataclasses.fields(cls)
        if base_type(f.type)[0] in (int, float)
    ]


def numeric_options():
    """[(command words, --option, int or float)] of every numeric option of the CLI, read from
    the commands' own signatures, so a new option is checked too."""
    found = []
    groups = [((), app)] + [((g.name,), g.typer_instance) for g in app.registered_groups]
    for words, typer_app in groups:
        for command in typer_app.registered_commands:
            name = command.name or command.callback.__name__.rstrip("_").replace("_", "-")
            hints = typing.get_type_hints(command.callback, include_extras=True)
            for param in inspect.signature(command.callback).parameters:
                hint = hints[param]
                base = (
                    typing.get_args(hint)[0]
                    if typing.get_origin(hint) is typing.Annotated
                    else hint
                )
                info = (
                    typing.get_args(hint)[1:] if typing.get_origin(hint) is typing.Annotated else ()
                )
                kinds = {base} | set(typing.get_args(base))
                kind = next((k for k in (int, float) if k in kinds), None)
                decls = [d for i in info for d in getattr(i, "param_decls", None) or ()]
                if kind is not None:
                    option = decls[0] if decls else "--" + param.replace("_", "-")
                    found.append(((*words, name), option, kind))
    return found


def test_every_config_keys_bounds_are_in_the_docs_table():
    for key, f in numeric_keys():
        r = f.metadata
        low = _fmt(r["min"]) if "min" in r else f"> {_fmt(r['above'])}"
        high = _fmt(r["max"]) if "max" in r else f"< {_fmt(r['below'])}"
        assert f"| `{key}` | {low} | {high} |" in DOCS, key


def test_every_numeric_option_is_in_the_docs_table():
    options = numeric_options()
    assert len(options) >= 15  # the introspection finds them (sample's alone are four)
    for words, option, _ in options:
        row = re.search(rf"^\| `(charlm {' '.join(words)} )?{option}` \(", DOCS, re.M)
        assert row, (words, option)


@pytest.mark.parametrize("key", [k for k, _ in numeric_keys()])
def test_a_config_key_out_of_its_range_is_refused_naming_it(key):
    for value in ("1e300", "-1e300", "1" + "0" * 60, "nan", "inf"):
        with pytest.raises(CharlmError) as e:
            config.load(None, [f"{key}={value}"])
        assert str(e.value).startswith(f"--set {key}=") and f": {key} must be" in str(e.value)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("bounds")
    (root / "corpus.txt").write_text("abcabc abc\n" * 300)
    charlm.train(corpus=str(root / "corpus.txt"), steps=2, overrides=[
        f"output.dir={root}", "model.hidden_size=8", "model.num_layers=1",
        "train.batch_size=2", "train.seq_len=8", "train.report=false"])  # fmt: skip
    (root / "space.yaml").write_text("train.lr: {log: [0.001, 0.01]}\n")  # charlm sweep's
    return root


def test_every_numeric_option_refuses_the_extremes_in_one_line(model_dir, monkeypatch):
    monkeypatch.chdir(model_dir)
    needs = {"train": ["--corpus", "corpus.txt", *TINY], "corpus make": ["recall"],
             "sweep": ["space.yaml", "--corpus", "corpus.txt", *TINY]}  # fmt: skip
    model = ["--checkpoint", str(model_dir / "lstm")]
    for words, option, kind in numeric_options():
        before = sorted(p.name for p in model_dir.rglob("*"))
        extra = needs.get(" ".join(words), model if words[0] in ("sample", "neurons",
                          "saliency") else [])  # fmt: skip
        text = ["abcab"] if words[0] in ("neurons", "saliency") else []
        odd = ["1" + "0" * 30, "-1" + "0" * 30] + (["nan", "inf", "1e308"] if kind is float else [])
        for value in odd:
            result = invoke(*words, *text, *extra, option, value)
            refused(result, option)
        assert sorted(p.name for p in model_dir.rglob("*")) == before, (words, option)


@settings(max_examples=40, deadline=None)
@given(
    lr=st.floats(1e-6, 1e38, allow_nan=False),
    clip=st.floats(1e-3, 1e6),
    seq=st.integers(1, 10**6),
    layers=st.integers(1, 64),
    steps=st.integers(1, 10**8),
)
def test_an_accepted_value_is_the_value_used(lr, clip, seq, layers, steps):
    sets = [f"train.lr={lr!r}", f"train.clip_value={clip!r}", f"train.seq_len={seq}",
            f"model.num_layers={layers}", f"train.max_steps={steps}"]  # fmt: skip
    cfg = config.load(None, sets)
    assert (cfg.train.lr, cfg.train.clip_value, cfg.train.seq_len) == (lr, clip, seq)
    assert (cfg.model.num_layers, cfg.train.max_steps) == (layers, steps)


def test_the_command_line_uses_the_values_it_accepted(model_dir, monkeypatch):
    monkeypatch.chdir(model_dir)
    sets = ["--set", "train.lr=0.0123", "--set", "train.seed=9223372036854775807"]
    result = invoke("train", "--corpus", "corpus.txt", *TINY, "--run", "used", "--steps", 3, *sets)
    assert result.exit_code == 0, result.output
    t = charlm.load(model_dir / "checkpoints/used").config.train
    assert (t.max_steps, t.lr, t.seed) == (3, 0.0123, 2**63 - 1)
    out = invoke("sample", "--checkpoint", "checkpoints/used", "--length", 40, "--seed", 2**63 - 1)
    api = charlm.load("checkpoints/used").sample("", length=40, seed=2**63 - 1)
    assert out.exit_code == 0 and out.stdout in (api, api + "\n")


def test_huge_or_deep_yaml_is_one_line(tmp_path):
    deep = tmp_path / "deep.yaml"
    deep.write_text("train:\n  lr: " + "[" * 50 + "]" * 50 + "\n")
    refused(invoke("gradcheck", "--config", deep), "nested deeper than 8 levels")
    big = tmp_path / "big.yaml"
    big.write_text("train:\n  seed: " + "9" * 5000 + "\n")
    refused(invoke("gradcheck", "--config", big), "a number of 5,000 digits")


def test_the_api_refuses_integers_past_str_limits_naming_the_parameter(model_dir):
    model = charlm.load(model_dir / "lstm")
    with pytest.raises(CharlmError, match=r"^length=\(a number of about .* digits\): must be"):
        model.sample(length=10**5000)
    with pytest.raises(CharlmError, match=r"^steps=\(a number of about .* digits\)"):
        charlm.train(corpus=str(model_dir / "corpus.txt"), steps=10**5000)


@settings(max_examples=30, deadline=None)
@given(
    length=st.integers(0, 60),
    temperature=st.floats(1e-3, 1000, allow_nan=False),
    top_k=st.none() | st.integers(1, 10**6),
    seed=st.integers(0, 2**63 - 1),
    prime=st.text(alphabet="abc \n", max_size=5),
)
def test_the_command_line_fuzzed_uses_each_value_it_accepts(
    model_dir, length, temperature, top_k, seed, prime
):
    """Whatever values sample accepts, it prints what the API makes of the same values: the
    prime, then exactly `length` characters, the same for the same seed."""
    path = model_dir / "lstm"
    args = ["--length", length, "--temperature", repr(temperature), "--seed", seed]
    args += [] if top_k is None else ["--top-k", top_k]
    out = invoke("sample", "--checkpoint", path, "--prime", prime, *args)
    assert out.exit_code == 0, out.output
    want = charlm.load(path).sample(prime, length=length, temperature=temperature,
                                    top_k=top_k, seed=seed)  # fmt: skip
    assert len(want) == len(prime) + length and out.stdout in (want, want + "\n")
