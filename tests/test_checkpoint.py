"""Checkpoints: a bit-exact round trip, atomic writes, and refusals of what is not one."""

import os
import zipfile

import numpy as np
import pytest

from charlm.errors import CharlmError
from charlm.run import checkpoint, train
from tests.helpers import arrays_of, small_config, write_npz


@pytest.fixture
def ck(tmp_path):
    cfg = small_config(tmp_path, "model.num_layers=2", "train.optimizer=adam")
    corpus = train.load_corpus(cfg)
    ck = train.new_run(cfg, corpus.vocab)
    ck.step, ck.window, ck.epoch, ck.best_val, ck.smooth_loss = 7, 3, 0.25, 1.5, 2.25
    ck.state = tuple(np.full((2, 3, 8), 0.5, np.float32) for _ in range(2))
    return ck


def test_round_trip_is_exact(tmp_path, ck):
    path = tmp_path / "a.npz"
    checkpoint.save(path, ck)
    back = checkpoint.load(path)
    assert back.config == ck.config and back.rng == ck.rng
    assert np.array_equal(back.vocab.codes, ck.vocab.codes)
    for name, p in ck.params.items():
        assert back.params[name].dtype == p.dtype and np.array_equal(back.params[name], p)
    assert set(back.optim) == set(ck.optim) and int(back.optim["step"]) == 0
    assert all(np.array_equal(a, b) for a, b in zip(back.state, ck.state, strict=True))
    got = (back.step, back.window, back.epoch, back.best_val, back.smooth_loss)
    assert got == (7, 3, 0.25, 1.5, 2.25)
    with np.load(path, allow_pickle=False) as z:  # parameters under their PyTorch names
        assert "weight_hh_l1" in z.files and "head.weight" in z.files
        assert int(z["meta/format"]) == checkpoint.FORMAT
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz", "corpus.txt"]  # no .tmp


def test_a_failed_write_leaves_the_previous_checkpoint_whole(tmp_path, ck, monkeypatch):
    path = tmp_path / "latest.npz"
    checkpoint.save(path, ck)
    before = path.read_bytes()
    real = np.savez

    def dies_half_way(f, **arrays):
        real(f, **dict(list(arrays.items())[:3]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", dies_half_way)
    ck.step = 8
    with pytest.raises(CharlmError, match="No space left on device.*previous checkpoint"):
        checkpoint.save(path, ck, owned=True)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["corpus.txt", "latest.npz"]


def test_refusals_name_the_problem(tmp_path, ck):
    good = tmp_path / "good.npz"
    checkpoint.save(good, ck)
    arrays = arrays_of(good)
    bad = tmp_path / "bad.npz"
    (tmp_path / "text.npz").write_text("hello")

    def without(name):
        return {k: v for k, v in arrays.items() if k != name}

    cases = [
        (tmp_path / "none.npz", "checkpoint not found"),
        (tmp_path / "text.npz", "not a readable charlm checkpoint"),
        ({**arrays, "meta/format": np.int64(99)}, "checkpoint format 99, this charlm reads"),
        (
            {k: v for k, v in arrays.items() if k != "weight_hh_l1"},
            "missing parameter 'weight_hh_l1'",
        ),
        (
            {**arrays, "head.bias": np.zeros(3, np.float32)},
            r"parameter 'head.bias' is float32 \(3,\)",
        ),
        (without("meta/vocab"), "missing array 'meta/vocab'"),
        ({**arrays, "meta/vocab": arrays["meta/vocab"][::-1]}, "corrupted vocabulary"),
        ({**arrays, "meta/vocab": np.uint32([10, 0x110000])}, "corrupted vocabulary"),
        (
            {**arrays, "head.bias": np.full_like(arrays["head.bias"], np.nan)},
            "parameter 'head.bias' holds NaN or infinite values",
        ),
        ({**arrays, "weight_ih_l0": np.array([{"x": 1}], dtype=object)}, "a pickled Python"),
    ]
    for case, message in cases:
        path = case
        if isinstance(case, dict):
            write_npz(bad, case)
            path = bad
        with pytest.raises(CharlmError, match=message):
            checkpoint.load(path)
    data = good.read_bytes()
    bad.write_bytes(data[: len(data) // 2])  # truncated
    with pytest.raises(CharlmError, match="truncated"):
        checkpoint.load(bad)


def test_a_pickled_array_is_never_unpickled(tmp_path, ck, monkeypatch):
    import pickle

    good = tmp_path / "good.npz"
    checkpoint.save(good, ck)
    write_npz(tmp_path / "evil.npz", {**arrays_of(good), "x": np.array([object()], dtype=object)})
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("pickle.loads was called"))
    monkeypatch.setattr(pickle, "load", lambda *a, **k: pytest.fail("pickle.load was called"))
    with pytest.raises(CharlmError, match="holds a pickled Python object, which charlm never"):
        checkpoint.load(tmp_path / "evil.npz")
    assert zipfile.is_zipfile(tmp_path / "evil.npz")


def test_find_and_newest(tmp_path, ck):
    run = tmp_path / "ckpts" / "r1"
    run.mkdir(parents=True)
    checkpoint.save(run / "latest.npz", ck)
    assert checkpoint.find(run) == run / "latest.npz"
    with pytest.raises(CharlmError, match="no latest.npz or best.npz in this folder"):
        checkpoint.find(tmp_path)
    (tmp_path / "ckpts" / "r2").mkdir()
    checkpoint.save(tmp_path / "ckpts" / "r2" / "best.npz", ck)
    os.utime(run / "latest.npz", (1, 1))
    assert checkpoint.newest(tmp_path / "ckpts") == tmp_path / "ckpts" / "r2" / "best.npz"
    with pytest.raises(CharlmError, match="no checkpoint under"):
        checkpoint.newest(tmp_path / "empty")


def test_resuming_needs_whole_training_state_and_sampling_does_not(tmp_path, ck):
    good = tmp_path / "good.npz"
    checkpoint.save(good, ck)
    checkpoint.check_resumable(good, checkpoint.load(good))
    arrays = arrays_of(good)
    cases = [
        ({k: v for k, v in arrays.items() if k != "optim/m.head.bias"}, "'optim/m.head.bias'"),
        ({**arrays, "optim/v.weight_hh_l0": np.zeros(3)}, "'optim/v.weight_hh_l0' is missing"),
        ({**arrays, "state/1": np.zeros((2, 3, 9), np.float32)}, r"carried state \(state/\*\)"),
        ({**arrays, "meta/rng": np.str_('{"bit_generator": "nope"}')}, r"meta/rng\) is damaged"),
    ]
    for damaged, message in cases:
        path = tmp_path / "bad.npz"
        write_npz(path, damaged)
        back = checkpoint.load(path)  # the parameters are whole: sample and eval can use it
        with pytest.raises(CharlmError, match=message + ".*cannot resume"):
            checkpoint.check_resumable(path, back)
