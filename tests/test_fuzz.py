"""Whatever file charlm is handed (a random YAML document as a config, random or damaged bytes
as a checkpoint or a corpus), it answers either normally or with its own one-line error, exit
status 2: never a traceback."""

import string

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from charlm.cli import app
from charlm.run import checkpoint
from tests.helpers import write_corpus

runner = CliRunner()
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
TRAIN_FAST = ["--steps", "1", "--set", "model.hidden_size=4", "--set", "model.num_layers=1",
              "--set", "train.batch_size=2", "--set", "train.seq_len=3"]  # fmt: skip


def answers_in_one_line(result):
    """Exit 0, or exit 2 with exactly one line `charlm: error: ...` on stderr."""
    assert "Traceback" not in result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        assert result.stderr.startswith("charlm: error: "), result.stderr
        assert result.stderr.count("\n") == 1, result.stderr


@pytest.fixture(scope="module")
def good_checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("good")
    write_corpus(folder / "corpus.txt", 400)
    out = folder / "checkpoints"
    result = runner.invoke(
        app,
        ["train", "--corpus", str(folder / "corpus.txt"), "--set", f"output.dir={out}",
         *TRAIN_FAST],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return (out / "lstm" / "latest.npz").read_bytes()


keys = st.sampled_from(["model", "data", "train", "output", "hidden_size", "lr", "type", "x"])
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 300), st.floats(allow_nan=True),
    st.text(string.printable, max_size=8),
)  # fmt: skip
documents = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=4)
)


@FUZZ
@given(doc=documents)
def test_any_yaml_document_as_a_config(tmp_path, doc):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    write_corpus(tmp_path / "corpus.txt", 400)
    args = ["train", "--config", str(path), "--corpus", str(tmp_path / "corpus.txt"), "--force",
            "--set", f"output.dir={tmp_path / 'out'}"]  # fmt: skip
    result = runner.invoke(app, [*args, "--steps", "1"])
    answers_in_one_line(result)
    if result.exit_code == 0:  # accepted: the run's config holds every value as it was given
        saved = checkpoint.load(tmp_path / "out" / "lstm").config
        for section, values in (doc or {}).items():
            for key, value in (values or {}).items():
                got = getattr(getattr(saved, section), key)
                assert got == value and type(got) is type(value), (section, key, got, value)


SETTABLE = {  # a real key of each type, with values of every kind: what --set is given
    "model.hidden_size": st.integers(-3, 40), "model.dropout": st.floats(-1, 2),
    "model.bidirectional": st.booleans(), "model.type": st.sampled_from(["gru", "rnn", "x"]),
    "train.lr": st.floats(-1, 1) | st.sampled_from([float("nan"), float("inf")]),
    "train.seq_len": st.integers(-2, 20), "train.clip": st.sampled_from(["norm", "none", "?"]),
    "model.embedding_size": st.none() | st.integers(0, 9),
}  # fmt: skip


@settings(FUZZ, max_examples=25)
@given(data=st.data())
def test_an_accepted_set_is_the_value_trained_with(tmp_path, data):
    keys = data.draw(st.lists(st.sampled_from(sorted(SETTABLE)), min_size=1, max_size=3,
                              unique=True))  # fmt: skip
    given_values = {k: data.draw(SETTABLE[k]) for k in keys}
    sets = [a for k, v in given_values.items() for a in ("--set", f"{k}={_yaml(v)}")]
    write_corpus(tmp_path / "corpus.txt", 400)
    args = ["train", "--corpus", str(tmp_path / "corpus.txt"), "--force",
            "--set", f"output.dir={tmp_path / 'out'}", *TRAIN_FAST, *sets]  # fmt: skip
    result = runner.invoke(app, args)
    answers_in_one_line(result)
    if result.exit_code == 0:
        saved = checkpoint.load(tmp_path / "out" / "lstm").config
        for key, value in given_values.items():
            section, _, name = key.partition(".")
            assert getattr(getattr(saved, section), name) == value, (key, value)


def _yaml(value):
    """value as --set reads it back (YAML): null, true/false, a number or the text."""
    return (
        "null"
        if value is None
        else str(value).lower()
        if isinstance(value, bool)
        else (repr(value) if isinstance(value, float) else str(value))
    )


@FUZZ
@given(blob=st.binary(max_size=3000))
def test_random_bytes_as_a_checkpoint(tmp_path, blob):
    path = tmp_path / "x.npz"
    path.write_bytes(blob)
    result = runner.invoke(app, ["sample", "--checkpoint", str(path), "--length", "3"])
    assert result.exit_code == 2
    answers_in_one_line(result)


@FUZZ
@given(data=st.data())
def test_a_damaged_checkpoint(tmp_path, good_checkpoint, data):
    blob = bytearray(good_checkpoint)
    n = data.draw(st.integers(1, 8))
    for _ in range(n):  # overwrite a few bytes anywhere, then maybe cut the file short
        at = data.draw(st.integers(0, len(blob) - 1))
        blob[at] = data.draw(st.integers(0, 255))
    blob = blob[: data.draw(st.integers(0, len(blob)))]
    path = tmp_path / "x.npz"
    path.write_bytes(bytes(blob))
    for args in (["sample", "--length", "3", "--seed", "0"], ["eval", "--json"]):
        answers_in_one_line(runner.invoke(app, [*args, "--checkpoint", str(path)]))


@FUZZ
@given(blob=st.binary(max_size=2000), encoding=st.sampled_from(["utf-8", "bytes", "latin-1"]))
def test_random_bytes_as_a_corpus(tmp_path, blob, encoding):
    (tmp_path / "corpus.txt").write_bytes(blob)
    args = ["train", "--corpus", str(tmp_path / "corpus.txt"), "--force",
            "--set", f"data.encoding={encoding}", "--set", f"output.dir={tmp_path / 'out'}",
            *TRAIN_FAST]  # fmt: skip
    answers_in_one_line(runner.invoke(app, args))
