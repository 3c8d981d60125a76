"""A sweep's search space (SPACE.yaml): config keys mapped to the ranges a trial draws from.

    train.lr: {log: [0.001, 0.03]}                 a number, log-uniform between the two
    model.dropout: {float: [0.0, 0.3]}             a number, uniform
    train.batch_size: {int: [8, 64], log: true}    an integer, uniform (log: log-uniform)
    model.hidden_size: {choice: [128, 192, 256]}   one of these values

Every key and every value a range can give is checked by the config's own rules (run/config.py)
before any trial runs: an unknown key is refused as `--set` refuses it, with a suggestion, and
a range reaching outside what its key allows is refused naming the end that does.
"""

from dataclasses import dataclass

from charlm import files
from charlm.errors import CharlmError
from charlm.run import config, yamlfile
from charlm.run.rules import base_type, kind, problem_of, short

KINDS = ("log", "float", "int", "choice")
MAX_BYTES = 1 << 20  # a space is a few lines
MAX_CHOICES = 1000


@dataclass(frozen=True)
class Dim:
    """One key's range: kind (KINDS), values ((low, high), or the choices), log (int only)."""

    key: str
    kind: str
    values: tuple
    log: bool = False

    def describe(self):
        if self.kind == "choice":
            return ", ".join(str(v) for v in self.values)
        low, high = self.values
        return f"{low:g} to {high:g}{' (log)' if self.kind == 'log' or self.log else ''}"


def read(path):
    """The space file's text, read once (a pipe or /dev/stdin too)."""
    data = files.read_bytes(path, "sweep space", limit=MAX_BYTES)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise CharlmError(f"{path}: not a sweep space (not UTF-8 text)") from None


def parse(text, source):
    """The dimensions of the space in text (YAML, from source), each checked (module
    docstring)."""
    try:
        raw = yamlfile.parse(text)
    except (RecursionError, yamlfile.yaml.YAMLError) as e:
        what = getattr(e, "problem", None) or type(e).__name__
        raise CharlmError(f"{source}: not a sweep space ({what})") from None
    if not isinstance(raw, dict) or not raw:
        raise CharlmError(
            f"{source}: a sweep space maps config keys to ranges, e.g. "
            f"'train.lr: {{log: [0.001, 0.03]}}'; got {kind(raw) if raw else 'nothing'}"
        )
    return [_dim(str(key), spec, yamlfile.where(source, text, [key])) for key, spec in raw.items()]


def _dim(key, spec, where):
    f = config.field_of(key, where)
    if key == "output.run" or key == "output.dir" or key == "data.corpus":
        raise CharlmError(f"{where}: {key} is the sweep's to set, not a dimension to search")
    log = (
        spec.pop("log", False)
        if isinstance(spec, dict) and "log" in spec and len(spec) > 1
        else False
    )
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in KINDS:
        raise CharlmError(
            f"{where}: {key}'s range must be one of {{log: [low, high]}}, {{float: [low, high]}}, "
            f"{{int: [low, high]}} (log: true for log-uniform) or {{choice: [a, b, ...]}}"
        )
    ((what, values),) = spec.items()
    if not isinstance(values, list) or not values or len(values) > MAX_CHOICES:
        raise CharlmError(f"{where}: {key}: {what} takes a list ([low, high] or the choices)")
    if log not in (True, False) or (log and what != "int"):
        raise CharlmError(f"{where}: {key}: log: true goes with int (a log range of numbers is "
                          f"{{log: [low, high]}})")  # fmt: skip
    for value in values:
        problem = problem_of(f, key, value)
        if problem:
            raise CharlmError(f"{where}: {key}: {short(value)} is outside what the key allows "
                              f"({problem})")  # fmt: skip
    if what == "choice":
        if len(set(map(repr, values))) != len(values):
            raise CharlmError(f"{where}: {key}: a choice is listed twice")
        return Dim(key, what, tuple(values))
    return Dim(key, what, _range(f, key, what, values, where), log)


def _range(f, key, what, values, where):
    if len(values) != 2:
        raise CharlmError(f"{where}: {key}: {what} takes [low, high], two values")
    low, high = values
    base = base_type(f.type)[0]
    if what == "int" and base is not int:
        raise CharlmError(f"{where}: {key} is a number, not an integer: use float or log")
    if what != "int" and base is not float:
        raise CharlmError(
            f"{where}: {key} is not a number: use {'int' if base is int else 'choice'}"
        )
    if not low < high:
        raise CharlmError(f"{where}: {key}: the low end ({low}) must be below the high ({high})")
    if what == "log" and low <= 0:
        raise CharlmError(f"{where}: {key}: a log range must start above 0 (got {low})")
    return (low, high)


def suggest(trial, dims):
    """{key: value} drawn for an Optuna trial, a parameter per key (named by the key)."""
    out = {}
    for d in dims:
        if d.kind == "choice":
            out[d.key] = trial.suggest_categorical(d.key, list(d.values))
        elif d.kind == "int":
            out[d.key] = trial.suggest_int(d.key, *d.values, log=d.log)
        else:
            out[d.key] = trial.suggest_float(d.key, *d.values, log=d.kind == "log")
    return out


def overrides(values):
    """--set strings for a trial's values (YAML reads each back as the value it was)."""
    return [f"{key}={'null' if v is None else repr(v) if isinstance(v, float) else v}"
            for key, v in values.items()]  # fmt: skip
