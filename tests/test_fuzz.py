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
    answers_in_one_line(runner.invoke(app, [*args, "--steps", "1"]))


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
