"""The Python API checks its arguments at the public boundary: every parameter of every
public call, given a value of the wrong type or shape, is refused with a CharlmError that
names it as the caller wrote it; no TypeError, AttributeError or ValueError from inside
escapes. The parameters are read from the calls' own signatures, so a new one is tried too."""

import functools
import inspect
import re

import pytest

import charlm
from charlm.errors import CharlmError
from tests.helpers import TINY

# a value no parameter takes: the refusal must name the parameter
ALIEN = [object(), b"x", {"a": 1}, 1j]
# values some parameters take and others do not: refused or used, never a crash
ODD = [None, -1, 1.5, 10**30, float("nan"), "", "\0", "x", [], ("a",), True]


@pytest.fixture(scope="module")
def calls(tmp_path_factory):
    root = tmp_path_factory.mktemp("api")
    (root / "c.txt").write_text("the cat sat on the mat. " * 100)
    (root / "s.yaml").write_text("train.lr: {log: [0.001, 0.01]}\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        sets = [TINY[i + 1] for i in range(0, len(TINY), 2)]
        model = charlm.train(corpus="c.txt", steps=2, run="m", overrides=sets)
        text = "the cat sat"
        yield (
            root,
            {
                "load": (charlm.load, {"path": "checkpoints/m"}),
                "train": (
                    charlm.train,
                    {"corpus": "c.txt", "steps": 2, "run": "t", "overrides": sets, "force": True},
                ),  # fmt: skip
                "report": (
                    charlm.report,
                    {"runs": "checkpoints/m", "out": "r.html", "force": True},
                ),
                "gradcheck": (charlm.gradcheck, {"cells": "rnn", "layers": 1}),
                "gradflow": (charlm.gradflow, {"cells": "rnn", "length": 5, "hidden": 4}),
                "runs": (charlm.runs, {}),
                "import_weights": (
                    charlm.import_weights,
                    {"path": "no.safetensors", "out": "i.npz"},
                ),
                "make_corpus": (
                    charlm.make_corpus,
                    {"kind": "recall", "size": 100, "out": "k.txt", "force": True},
                ),  # fmt: skip
                "sweep": (
                    charlm.sweep,
                    {
                        "space_file": "s.yaml",
                        "corpus": "c.txt",
                        "steps": 2,
                        "trials": 1,
                        "overrides": sets,
                        "study": "h",
                    },
                ),  # fmt: skip
                "sweep_results": (charlm.sweep_results, {"study": "h"}),
                "serve": (serve_once, {"runs": "checkpoints/m", "port": 0}),
                "sample": (model.sample, {"length": 5}),
                "fill": (model.fill, {"prime": "ab"}),
                "evaluate": (model.evaluate, {"text": text}),
                "forward": (model.forward, {"text": text}),
                "export": (model.export, {"out": "e.safetensors", "force": True}),
                "neurons": (model.neurons, {"text": text}),
                "gates": (model.gates, {"text": text}),
                "score": (model.score, {"text": text}),
                "saliency": (model.saliency, {"text": text}),
                "model.gradflow": (model.gradflow, {"text": text, "length": 5}),
            },
        )


NAMES = ["load", "train", "report", "gradcheck", "gradflow", "runs", "import_weights",
         "make_corpus", "sweep", "sweep_results", "serve", "sample", "fill", "evaluate", "forward",
         "export", "neurons", "gates", "score", "saliency", "model.gradflow"]  # fmt: skip


@functools.wraps(charlm.serve)
def serve_once(**kwargs):
    """charlm.serve, told to stop as soon as it runs (an accepted call would serve forever)."""
    if kwargs.get("should_stop") is None:
        kwargs["should_stop"] = lambda: True
    return charlm.serve(**kwargs)


def _params(fn):
    kinds = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [p.name for p in inspect.signature(fn).parameters.values() if p.kind not in kinds]


@pytest.mark.parametrize("name", NAMES)
def test_a_value_of_the_wrong_type_is_refused_naming_its_parameter(calls, name):
    _, table = calls
    fn, base = table[name]
    params = _params(fn)
    assert params  # the signature was read
    for param in params:
        for value in ALIEN:
            with pytest.raises(CharlmError) as e:
                fn(**{**base, param: value})
            assert re.search(rf"(^|\W){param}\b", str(e.value)), (param, value, e)


@pytest.mark.parametrize("name", NAMES)
def test_odd_values_are_refused_or_used_never_a_crash(calls, name):
    _, table = calls
    fn, base = table[name]
    for param in _params(fn):
        for value in ODD:
            try:
                fn(**{**base, param: value})
            except CharlmError as e:
                assert "\n" not in str(e)
