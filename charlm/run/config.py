"""The run configuration: YAML sections `model`, `data`, `train`, `output` in dataclasses.

Every field's type and allowed range are declared beside it (metadata), so loading a file,
a `--set section.key=value` override and the built-in defaults all pass the same checks, and
every refusal is one line naming the file, line and key, what was given and what is allowed.
"""

import contextlib
import dataclasses
from dataclasses import dataclass, field

import yaml

from charlm import files
from charlm.errors import ArgumentError, CharlmError, literal
from charlm.run import yamlfile
from charlm.run.rules import base_type, cut, kind, problem_of, suggest

CELL_TYPES = ("rnn", "lstm", "gru")
OPTIMIZERS = ("adagrad", "sgd", "adam")
CLIP_MODES = ("norm", "elementwise", "none")
LR_SCHEDULES = ("constant", "cosine")
DTYPES = ("float32", "float64")
MAX_CONFIG_BYTES = 1 << 20  # a config is a few hundred bytes
MAX_STEPS = 10**8  # the most steps a run can have, however its length is given
LENGTHS = ("max_steps", "epochs", "minutes")  # a run's length: exactly one of them


def _f(default, **rules):
    """A field with its checks: min / max (inclusive), below (exclusive max), above
    (exclusive min), choices."""
    return field(default=default, metadata=rules)


@dataclass
class ModelConfig:
    type: str = _f("lstm", choices=CELL_TYPES)
    hidden_size: int = _f(256, min=1, max=65536)
    num_layers: int = _f(2, min=1, max=64)
    bidirectional: bool = _f(False)
    dropout: float = _f(0.0, min=0.0, below=1.0)
    embedding_size: int | None = _f(None, min=1, max=65536)  # null: one-hot input
    forget_bias: float | None = _f(1.0, min=-100.0, max=100.0)  # LSTM; null: PyTorch's init


@dataclass
class DataConfig:
    corpus: str = _f("tinyshakespeare")  # a path, or a name from the catalog in corpora/
    val_fraction: float = _f(0.1, above=0.0, below=1.0)
    # the last test_fraction held out as a test split (`charlm eval --split test`), never
    # trained or validated on; the validation split is the val_fraction before it
    test_fraction: float = _f(0.0, min=0.0, below=1.0)
    encoding: str = _f("utf-8", encoding=True)  # a text codec's name, or "bytes" (byte-level)
    # between the files of a folder or pattern corpus (run/textset.py): after a file that
    # ends with a newline, "\n" makes one empty line
    separator: str = _f("\n", length=1000)


@dataclass
class TrainConfig:
    seq_len: int = _f(64, min=1, max=10**6)
    batch_size: int = _f(16, min=1, max=10**6)
    # the run's length: exactly one of max_steps, epochs, minutes (a time budget,
    # run/budget.py); max_steps 5000 when the config gives none (see _length)
    max_steps: int | None = _f(5000, min=1, max=MAX_STEPS)
    epochs: float | None = _f(None, above=0.0, max=10.0**6)
    minutes: float | None = _f(None, above=0.0, max=525600.0)  # a year
    optimizer: str = _f("adam", choices=OPTIMIZERS)
    lr: float = _f(0.004, above=0.0, max=1e38)  # float32 holds up to 3.4e38
    lr_schedule: str = _f("cosine", choices=LR_SCHEDULES)  # see optim.learning_rate
    lr_min: float = _f(0.0, min=0.0, max=1e38)  # cosine: the lr it ends at; at most lr
    warmup_steps: int = _f(0, min=0, max=MAX_STEPS)  # lr rises linearly over these steps
    momentum: float = _f(0.9, min=0.0, below=1.0)  # sgd
    beta1: float = _f(0.9, min=0.0, below=1.0)  # adam
    beta2: float = _f(0.999, min=0.0, below=1.0)  # adam
    eps: float = _f(1e-8, min=1e-30, max=1.0)  # adagrad, adam
    clip: str = _f("norm", choices=CLIP_MODES)
    clip_value: float = _f(5.0, above=0.0, max=10.0**6)
    seed: int = _f(1337, min=0, max=2**63 - 1)
    dtype: str = _f("float32", choices=DTYPES)
    log_every: int = _f(10, min=1, max=MAX_STEPS)  # steps between metrics.jsonl records
    eval_every: int = _f(500, min=1, max=MAX_STEPS)
    sample_every: int = _f(1000, min=1, max=MAX_STEPS)
    checkpoint_every: int = _f(500, min=1, max=MAX_STEPS)
    report: bool | None = _f(None)  # report.html at every eval; null: if matplotlib is there
    tensorboard: bool = _f(False)  # TensorBoard events too (the tensorboard extra)


@dataclass
class OutputConfig:
    run: str = _f("lstm", name=True)  # a plain folder name, directly under dir
    dir: str = _f("checkpoints")


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    output: OutputConfig = field(default_factory=OutputConfig)


SECTIONS = {f.name: f.type for f in dataclasses.fields(Config)}


def load(path=None, overrides=(), values=None):
    """The config in `path` (None: the defaults), with `section.key=value` overrides applied,
    then typed values ({"section.key": (value, param)}: an API's arguments, see replaced)."""
    raw, source, text = {}, "defaults", None
    if path is not None:
        source = str(path)
        # once, however it comes (a pipe, /dev/stdin), and never more than a config can be
        data = files.read_bytes(path, "config file", limit=MAX_CONFIG_BYTES)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise CharlmError(f"{source}: cannot read the config ({e})") from None
        try:
            raw = yamlfile.parse(text)
        except RecursionError:
            raise CharlmError(f"{source}: not a charlm config (nested too deeply)") from None
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f", line {mark.line + 1}" if mark else ""
            what = getattr(e, "problem", None) or "syntax error"
            raise CharlmError(f"{source}{where}: not valid YAML ({what})") from None
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise CharlmError(
                f"{source}: the config must be a mapping of sections "
                f"({', '.join(SECTIONS)}), got {kind(raw)}"
            )
    for item in overrides:
        _apply_override(raw, item)
    _set_values(raw, values or {})
    return _build(raw, source, text, overrides)


def apply(cfg, overrides, source, values=None):
    """cfg with `section.key=value` overrides applied (e.g. a checkpoint's config), then
    typed values as load's."""
    raw = to_dict(cfg)
    # the saved length is not a config's: one given now replaces it
    named = {i.partition("=")[0].strip() for i in overrides} | set(values or {})
    if any(f"train.{k}" in named for k in LENGTHS):
        raw["train"] = {k: v for k, v in raw["train"].items() if k not in LENGTHS}
    for item in overrides:
        _apply_override(raw, item)
    _set_values(raw, values or {})
    return _build(raw, source, None, overrides)


def to_dict(cfg):
    """The resolved config as plain data (what a checkpoint stores, as JSON)."""
    return dataclasses.asdict(cfg)


def from_dict(raw, source):
    """A Config from plain data, with the same checks as a file; source names it in errors."""
    if not isinstance(raw, dict):
        raise CharlmError(f"{source}: the config must be a mapping, got {kind(raw)}")
    train = raw.get("train")
    if isinstance(train, dict) and sum(train.get(k) is not None for k in LENGTHS) > 1:
        # an earlier version kept them all, and the first of these won
        first = next(k for k in ("minutes", "max_steps", "epochs") if train.get(k) is not None)
        raw = {**raw, "train": {**train, **{k: None for k in LENGTHS if k != first}}}
    return _build(raw, source, None)


def _apply_override(raw, item):
    key, sep, value = item.partition("=")
    if not sep:
        raise CharlmError(
            f"--set {cut(item)}: expected section.key=value, e.g. --set train.lr=0.05"
        )
    where = f"--set {cut(item)}"
    field_of(key.strip(), where)
    section, _, name = key.strip().partition(".")
    parsed = value.strip()
    if base_type(_fields(section)[name].type)[0] is not str or parsed in ("null", "~"):
        # "0.05" -> 0.05, "true" -> True; unparsable text stays text, and the check names it
        with contextlib.suppress(yaml.YAMLError):
            parsed = yamlfile.parse(parsed)
    _check_value(section, name, parsed, where)
    if not isinstance(raw.get(section), dict):
        raw[section] = {}
    raw[section][name] = parsed


def field_of(key, where):
    """The dataclass field of "section.key" (its rules in its metadata), an unknown key
    refused as --set refuses one, with a suggestion; where: what names it in the error."""
    section, dot, name = key.partition(".")
    if not dot or section not in SECTIONS:
        raise CharlmError(f"{where}: unknown key '{key}'{suggest(key, _all_keys())}")
    _check_key(section, name, where)
    return _fields(section)[name]


def _build(raw, source, text, overrides=()):
    sections = {}
    for section, values in raw.items():
        if section not in SECTIONS:
            where = yamlfile.where(source, text, [section])
            raise CharlmError(f"{where}: unknown section '{section}'{suggest(section, SECTIONS)}")
        if values is None:
            values = {}
        if not isinstance(values, dict):
            where = yamlfile.where(source, text, [section])
            raise CharlmError(
                f"{where}: section '{section}' must be a mapping of keys, got {kind(values)}"
            )
        for name, value in values.items():
            _check_key(section, name, yamlfile.where(source, text, [section, name]))
            _check_value(section, name, value, yamlfile.where(source, text, [section, name]))
        sections[section] = SECTIONS[section](**values)
    cfg = Config(**sections)
    cfg.train = _length(raw.get("train") or {}, cfg.train, source, text, overrides)
    _between_keys(cfg, source, text, overrides)
    return cfg


def _between_keys(cfg, source, text, overrides):
    """The rules between two keys: a cosine decays, not grows; the held-out splits leave text
    to train on."""
    d, t = cfg.data, cfg.train
    for ok, keys, message in [
        (t.lr_min <= t.lr, ("train.lr", "train.lr_min"),
         f"train.lr_min ({t.lr_min:g}) must be at most train.lr ({t.lr:g}); lower lr_min or "
         f"raise lr"),
        (d.val_fraction + d.test_fraction < 1, ("data.val_fraction", "data.test_fraction"),
         f"data.val_fraction ({d.val_fraction:g}) and data.test_fraction ({d.test_fraction:g}) "
         f"leave no text to train on; lower them"),
    ]:  # fmt: skip
        if not ok:
            sets = [f"--set {i}" for i in overrides if i.partition("=")[0].strip() in keys]
            where = sets[-1] if sets else yamlfile.where(source, text, keys[1].split("."))
            raise CharlmError(f"{where}: {message}")


def _fields(section):
    return {f.name: f for f in dataclasses.fields(SECTIONS[section])}


def _all_keys():
    return [f"{s}.{k}" for s in SECTIONS for k in _fields(s)]


def _check_key(section, name, where):
    if name not in _fields(section):
        raise CharlmError(
            f"{where}: unknown key '{section}.{name}'"
            f"{suggest(str(name), _fields(section), section + '.')}"
        )


def _check_value(section, name, value, where):
    problem = problem_of(_fields(section)[name], f"{section}.{name}", value)
    if problem:
        raise CharlmError(f"{where}: {problem}")


def replaced(cfg, values):
    """cfg with typed values set (as load's)."""
    return apply(cfg, (), "the arguments", values)


def _set_values(raw, values):
    """Set {"section.key": (value, param)} in raw, each value checked by the key's rules and
    refused naming param, the caller's name for it (an API argument), never parsed as text."""
    for key, (value, param) in values.items():
        section, _, name = key.partition(".")
        problem = problem_of(_fields(section)[name], f"{section}.{name}", value)
        if problem:
            raise ArgumentError(param, value, literal(problem))
        if not isinstance(raw.get(section), dict):
            raw[section] = {}
        if section == "train" and name in LENGTHS:  # replaces the config's length
            raw[section].update(dict.fromkeys(LENGTHS))
        raw[section][name] = value


def _length(given, t, source, text, overrides):
    """t with its length settled: the one of LENGTHS the config gives (the others null), or
    max_steps' default when it names none; two are refused, naming both."""
    named = [k for k in LENGTHS if given.get(k) is not None]
    if len(named) > 1:
        a, b = (_said(k, getattr(t, k), source, text, overrides) for k in named[:2])
        raise CharlmError(
            f"{a} and {b} both give the run's length; keep one (set the other to null), or "
            f"pass --steps or --minutes, which replace the config's"
        )
    if not named and any(k in given for k in LENGTHS):
        raise CharlmError(
            f"{source}: the run has no length (train.max_steps, train.epochs and train.minutes "
            f"are all null); set one of them"
        )
    if not named:
        return t
    return dataclasses.replace(t, **{k: getattr(t, k) if k in named else None for k in LENGTHS})


def _said(key, value, source, text, overrides):
    """Where train.key got its value: its --set, or the config's file and line."""
    sets = [i for i in overrides if i.partition("=")[0].strip() == f"train.{key}"]
    where = f"--set {cut(sets[-1])}" if sets else yamlfile.where(source, text, ["train", key])
    return f"train.{key} {value:g} ({where})"
