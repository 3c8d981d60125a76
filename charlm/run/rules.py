"""How a config value is judged, and how it is quoted in an error: the checks charlm.run.config
declares beside its fields use these, and so do the refusals that quote a user's value (cut
short: a value may be huge)."""

import codecs
import difflib
import math
import reprlib
import types
import typing

from charlm.errors import CharlmError


def check_run_name(name, where):
    """Refuse a run folder whose name could not be output.run (see check_name)."""
    check_name("output.run", name, where)


def check_name(key, value, where):
    """A run name is one plain folder name: it cannot leave output.dir or be output.dir."""
    bad = (
        not value.strip()
        or value in (".", "..")
        or any(c in value for c in "/\\\0")
        or value.startswith(".")
        or len(value.encode("utf-8", "surrogateescape")) > 255
    )
    if bad:
        raise CharlmError(
            f"{where}: {key} must be a plain folder name (no '/', not empty, not starting with "
            f"'.'), got {short(value)}; it names a folder directly under output.dir"
        )


def check_text_encoding(name, where):
    """Refuse a codec that does not turn bytes into text (rot13, base64, zlib, ...)."""
    if name == "bytes":
        return
    try:
        info = codecs.lookup(name)
    except (LookupError, TypeError, ValueError):
        raise CharlmError(
            f"{where}: unknown encoding {short(name)}; use a Python codec name such as "
            f"utf-8 or latin-1, or bytes for a byte-level model"
        ) from None
    if not getattr(info, "_is_text_encoding", True) or info.name == "undefined":
        raise CharlmError(
            f"{where}: {short(name)} is not a text encoding; use a text codec's name such as "
            f"utf-8 or latin-1, or bytes for a byte-level model"
        )


def cut(text, limit=80):
    """text itself, or its first limit - 3 characters and '...'."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def short(value, limit=60):
    """repr(value), cut short: a value quoted in an error may be huge (a YAML alias bomb, an
    integer of more digits than str() converts)."""
    if isinstance(value, int) and value.bit_length() > 200:
        return f"(a number of about {len(hex(value)) * 6 // 5:,} digits)"
    return cut(_REPR.repr(value), limit)


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 60
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict = 2, 4, 4


def base_type(tp):
    """(int, False) for int; (int, True) for int | None."""
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0], True
    return tp, False


def is_type(value, base):
    if base is bool:
        return isinstance(value, bool)
    if base is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if base is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, base)


def kind(value):
    if value is None:
        return "null"
    return {
        dict: "a mapping",
        list: "a list",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
    }.get(type(value), type(value).__name__)


def suggest(word, options, prefix=""):
    close = difflib.get_close_matches(word, list(options), n=1)
    return f"; did you mean '{prefix}{close[0]}'?" if close else ""


def problem_of(f, key, value):
    """What is wrong with value for the config field f (a dataclass field, its rules in its
    metadata: type, min / max inclusive, below / above exclusive, choices, name, encoding,
    length: a string's most characters),
    named key, or None."""
    rules = f.metadata
    base, optional = base_type(f.type)
    if value is None and optional:
        return None
    if not is_type(value, base):
        allowed = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}
        allowed = allowed[base] + (" or null" if optional else "")
        return f"{key} must be {allowed}, got {kind(value)} {short(value)}"
    if base is float and isinstance(value, int) and abs(value) > 2**1000:
        return f"{key} must be a finite number, got {short(value)}"  # float() would overflow
    if base is float and not math.isfinite(value):
        return f"{key} must be a finite number, got {value!r}"
    try:
        if rules.get("name"):
            check_name(key, value, "")
        if rules.get("encoding"):
            check_text_encoding(value, key)
    except CharlmError as e:
        return str(e).removeprefix(": ")
    if "choices" in rules and value not in rules["choices"]:
        return (
            f"{key} must be one of {', '.join(rules['choices'])}, "
            f"got {short(value)}{suggest(str(value)[:100], rules['choices'])}"
        )
    if "length" in rules and len(value) > rules["length"]:
        return f"{key} must be at most {rules['length']} characters, got {len(value):,}"
    bounds = [
        ("min", ">=", value < rules.get("min", value)),
        ("above", ">", "above" in rules and value <= rules["above"]),
        ("below", "<", "below" in rules and value >= rules["below"]),
        ("max", "<=", value > rules.get("max", value)),
    ]
    if any(bad for _, _, bad in bounds):
        limits = " and ".join(f"{op} {rules[rule]}" for rule, op, _ in bounds if rule in rules)
        return f"{key} must be {limits}, got {short(value)}"
    return None
