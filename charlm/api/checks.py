"""The API's argument checks: each refusal an ArgumentError naming the parameter as the
caller wrote it (the CLI names its option instead: charlm.cli.guard)."""

import math
import os
from collections.abc import Mapping

from charlm import memory
from charlm.errors import ArgumentError, CharlmError, literal

HIDDEN = ArgumentError.HIDDEN
# the bounds the API's numbers share (docs/usage.md, "Bounds")
SEED = 2**63 - 1  # a seed: 0 to this (NumPy takes any; a checkpoint's JSON keeps 64 bits)
CHARS = 10**9  # characters a call may generate or write


def integer(param, value, low=None, high=None, optional=False):
    """A whole number (not a bool), from low to high (docs/usage.md's table of bounds)."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentError(param, value, "must be a whole number")
    if low is not None and value < low:
        raise ArgumentError(param, value, f"must be {low} or more")
    if high is not None and value > high:
        raise ArgumentError(param, value, f"must be at most {high:,}")
    return value


def number(param, value, low=None, high=None, optional=False):
    """A finite real number, from low to high."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ArgumentError(param, value, "must be a number")
    if isinstance(value, int) and abs(value) > 2**1000:  # float() would overflow
        raise ArgumentError(param, value, "must be a finite number")
    if not math.isfinite(value):
        raise ArgumentError(param, value, "must be a finite number")
    if low is not None and value < low:
        raise ArgumentError(param, value, f"must be {low:g} or more")
    if high is not None and value > high:
        raise ArgumentError(param, value, f"must be at most {high:g}")
    return float(value)


def flag(param, value):
    if not isinstance(value, bool):
        raise ArgumentError(param, value, "must be True or False")
    return value


def choice(param, value, allowed):
    if value not in allowed:
        names = [str(a) for a in allowed]
        names = " or ".join(names) if len(names) == 2 else "one of " + ", ".join(names)
        raise ArgumentError(param, value, f"expected {literal(names)}")
    return value


def text(param, value, optional=False):
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ArgumentError(param, HIDDEN, f"must be a str, not {type(value).__name__}")
    return value


def path(param, value, optional=False):
    if value is None and optional:
        return None
    if not isinstance(value, (str, os.PathLike)):
        raise ArgumentError(
            param, HIDDEN, f"must be a path (str or Path), not {type(value).__name__}"
        )
    name = os.fspath(value)
    if not isinstance(name, str) or name == "" or "\0" in name:
        raise ArgumentError(param, value, "must be a path: a non-empty str without NUL")
    return value


def function(param, value, optional=True):
    """A callable (a callback, a clock), or None."""
    if value is None and optional:
        return None
    if not callable(value):
        raise ArgumentError(param, HIDDEN, f"must be callable, not {type(value).__name__}")
    return value


def texts(param, value):
    """A list of str; one str is one item, not its characters."""
    if value is None:
        return []
    items = several(param, value, (str,), "a str or a list of str")
    for item in items:
        text(param, item)
    return items


def several(param, value, single, what):
    """value as a list: one of the types `single` is one item; a list, tuple or other
    iterable gives its items (a dict, whose items would be its keys, or bytes are refused)."""
    if isinstance(value, single):
        return [value]
    if not isinstance(value, (bytes, bytearray, Mapping)):
        try:
            return list(value)
        except TypeError:
            pass
    raise ArgumentError(param, HIDDEN, f"must be {what}, not {type(value).__name__}")


def encode(vocab, value, skip_unknown, param):
    """vocab's ids of the text `value`, its unknown characters refused naming param."""
    flag("skip_unknown", skip_unknown)
    try:
        return vocab.encode(value, skip_unknown)
    except CharlmError as e:
        rule = f"{literal(e)}; pass {{skip_unknown=True}} to drop them"
        raise ArgumentError(param, ArgumentError.HIDDEN, rule) from None


def require(param, nbytes, what):
    """memory.require, its refusal naming param: what ("{hidden} 64 and {length} 100 need")
    may name the arguments in braces."""
    try:
        memory.require(nbytes, "\0")
    except CharlmError as e:
        raise ArgumentError(param, ArgumentError.WHOLE, str(e).replace("\0", what)) from None
