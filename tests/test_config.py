"""Config loading: defaults, one-line errors that name file, line and key, --set overrides."""

from pathlib import Path

import numpy as np
import pytest

from charlm.errors import CharlmError
from charlm.run import config, data

CONFIGS = Path(__file__).parent.parent / "configs"


def load_text(tmp_path, text, overrides=()):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return config.load(path, overrides)


def error_of(tmp_path, text, overrides=()):
    with pytest.raises(CharlmError) as e:
        load_text(tmp_path, text, overrides)
    return str(e.value).replace(str(tmp_path / "c.yaml"), "c.yaml")


def test_defaults_and_partial_files(tmp_path):
    cfg = load_text(tmp_path, "model:\n  type: gru\n  hidden_size: 64\ntrain:\n  lr: 1e-3\n")
    assert cfg.model.type == "gru" and cfg.model.hidden_size == 64
    assert cfg.model.num_layers == config.ModelConfig().num_layers
    assert cfg.train.lr == 0.001  # 1e-3 is a float, though YAML 1.1 says string
    assert config.load() == config.Config()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model:\n  hidden_size: 0\n",
         "c.yaml, line 2: model.hidden_size must be >= 1 and <= 65536, got 0"),
        ("model:\n  hiden_size: 8\n",
         "c.yaml, line 2: unknown key 'model.hiden_size'; did you mean 'model.hidden_size'?"),
        ("modle:\n  type: rnn\n", "c.yaml, line 1: unknown section 'modle'; did you mean 'model'?"),
        ("train:\n  seq_len: 10\n  lr: fast\n",
         "c.yaml, line 3: train.lr must be a number, got a string 'fast'"),
        ("model:\n  dropout: 1\n", "c.yaml, line 2: model.dropout must be >= 0.0 and < 1.0, got 1"),
        ("model:\n  type: transformer\n",
         "c.yaml, line 2: model.type must be one of rnn, lstm, gru, got 'transformer'"),
        ("model:\n  bidirectional: 1\n",
         "c.yaml, line 2: model.bidirectional must be true or false, got an integer 1"),
        ("train:\n  lr: .nan\n", "c.yaml, line 2: train.lr must be a finite number, got nan"),
        ("- 1\n- 2\n", "c.yaml: the config must be a mapping of sections "
         "(model, data, train, output), got a list"),
        ("model: [1]\n", "c.yaml, line 1: section 'model' must be a mapping of keys, got a list"),
        ("model:\n  type: lstm\n   x: 1\n", "c.yaml, line 3: not valid YAML"),
        ("train:\n  lr: 0.01\n  lr_min: 0.02\n", "c.yaml, line 3: train.lr_min (0.02) must be "
         "at most train.lr (0.01); lower lr_min or raise lr"),
        ("train:\n  lr_schedule: linear\n",
         "c.yaml, line 2: train.lr_schedule must be one of constant, cosine, got 'linear'"),
    ],
)  # fmt: skip
def test_refusals_name_the_file_line_and_key(tmp_path, text, message):
    assert error_of(tmp_path, text).startswith(message)


def test_set_overrides_parse_values_and_refuse_unknown_keys(tmp_path):
    cfg = load_text(
        tmp_path,
        "train:\n  lr: 0.1\n",
        ["train.lr=0.05", "model.embedding_size=16", "output.run=2024"],
    )
    assert cfg.train.lr == 0.05 and cfg.model.embedding_size == 16 and cfg.output.run == "2024"
    assert error_of(tmp_path, "", ["train.lrr=1"]) == (
        "--set train.lrr=1: unknown key 'train.lrr'; did you mean 'train.lr'?"
    )
    assert error_of(tmp_path, "train:\n  lr_min: 0.001\n", ["train.lr=0.0005"]) == (
        "--set train.lr=0.0005: train.lr_min (0.001) must be at most train.lr (0.0005); "
        "lower lr_min or raise lr"
    )
    assert error_of(tmp_path, "", ["train.lr"]).startswith(
        "--set train.lr: expected section.key=value"
    )
    assert error_of(tmp_path, "", ["model.num_layers=0"]) == (
        "--set model.num_layers=0: model.num_layers must be >= 1 and <= 64, got 0"
    )


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(CharlmError, match="config file not found"):
        config.load(tmp_path / "nope.yaml")
    with pytest.raises(CharlmError, match="is a directory"):
        config.load(tmp_path)


def test_shipped_lstm_config_is_the_builtin_default():
    assert config.load(CONFIGS / "lstm.yaml") == config.Config()


def test_every_shipped_config_loads_and_names_its_run_after_itself():
    names = sorted(p.stem for p in CONFIGS.glob("*.yaml"))
    assert names == ["bigru", "bilstm", "birnn", "enwik8", "gru", "lstm", "min-char-rnn",
                     "python", "quick", "rnn"]  # fmt: skip
    for name in names:
        cfg = config.load(CONFIGS / f"{name}.yaml")
        corpus = {"python": "python-stdlib", "enwik8": "enwik8"}.get(name, "tinyshakespeare")
        assert cfg.output.run == name and cfg.data.corpus == corpus
        cell = {"min-char-rnn": "rnn", "quick": "gru", "python": "lstm", "enwik8": "lstm"}.get(
            name, name.removeprefix("bi")
        )
        assert cfg.model.type == cell and cfg.model.bidirectional == name.startswith("bi")


def test_the_enwik8_config_is_the_benchmarks_split_read_as_bytes():
    cfg = config.load(CONFIGS / "enwik8.yaml")
    assert cfg.data.encoding == "bytes" and cfg.train.epochs == 1.0
    fractions = cfg.data.val_fraction, cfg.data.test_fraction
    enwik8 = np.broadcast_to(np.uint8(0), (10**8,))  # 10^8 ids in no memory: a zero stride
    parts = data.split(enwik8, *fractions)
    assert [len(p) for p in parts] == [90_000_000, 5_000_000, 5_000_000]
    ids = np.arange(1000)
    a, b, c = data.split(ids, *fractions)
    assert (a == ids[:900]).all() and (b == ids[900:950]).all() and (c == ids[950:]).all()


def test_min_char_rnn_config_is_karpathys():
    cfg = config.load(CONFIGS / "min-char-rnn.yaml")
    m, t = cfg.model, cfg.train
    assert (m.type, m.hidden_size, m.num_layers, m.embedding_size) == ("rnn", 100, 1, None)
    assert (t.seq_len, t.batch_size, t.optimizer, t.lr) == (25, 1, "adagrad", 0.1)
    assert (t.lr_schedule, t.warmup_steps) == ("constant", 0)
    assert (t.clip, t.clip_value) == ("elementwise", 5.0)


def test_the_quick_config_trains_for_a_time_budget():
    t = config.load(CONFIGS / "quick.yaml").train
    assert (t.minutes, t.max_steps, t.lr_schedule) == (1.5, None, "cosine")
