"""OpenAI's completions dialect: a request's fields checked, and the shapes of the answers.

Requests as https://platform.openai.com/docs/api-reference/completions describes them (and as
llama.cpp's server and vLLM accept them); max_tokens counts the model's symbols (characters,
or bytes for a byte-level model); top_k is an extension, as llama.cpp has. Errors are
    {"error": {"message": ..., "type": ..., "param": ..., "code": ...}}
with a 4xx status for what the client can fix, 5xx for the server's own faults.
"""

import json
import math
import secrets
import time

COMPLETION_DEFAULTS = dict(max_tokens=16, temperature=1.0, top_p=1.0, top_k=0, n=1, seed=None,
                           stop=None, echo=False, stream=False, skip_unknown=False)  # fmt: skip
# accepted with these values only: what charlm does not do is refused, not silently ignored
NEUTRAL = dict(logprobs=(None, 0), suffix=(None, ""), frequency_penalty=(0, 0.0, None),
               presence_penalty=(0, 0.0, None), logit_bias=(None,))  # fmt: skip
IGNORED = ("user", "stream_options", "model", "prompt", "best_of")
FILL_DEFAULTS = dict(blank="_", sweeps=4, temperature=1.0, top_p=1.0, top_k=0, seed=None,
                     skip_unknown=False)  # fmt: skip
MAX_N = 16
MAX_STOP = 4
SEED_MAX = 2**63 - 1


class ApiError(Exception):
    """An answer in OpenAI's error shape: status, message, type, param, code."""

    TYPES = {400: "invalid_request_error", 401: "invalid_request_error",
             404: "invalid_request_error", 405: "invalid_request_error",
             413: "invalid_request_error", 429: "requests", 500: "server_error",
             503: "server_error"}  # fmt: skip

    def __init__(self, status, message, param=None, code=None):
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code

    def body(self):
        kind = self.TYPES.get(self.status, "invalid_request_error")
        return {"error": {"message": self.message, "type": kind, "param": self.param,
                          "code": self.code}}  # fmt: skip


def parse_json(raw):
    """The request body as a JSON object, or a 400."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as e:
        raise ApiError(400, f"the body is not JSON: {e}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body


def completion(body, max_length):
    """The settings of a /v1/completions body: {prompt, max_tokens, temperature, top_p, top_k,
    n, seed, stop (list), echo, stream, include_usage, greedy}, each checked."""
    _neutral(body)
    known = set(COMPLETION_DEFAULTS) | set(NEUTRAL) | set(IGNORED)
    out = _fields(body, COMPLETION_DEFAULTS, known)
    out["prompt"] = _text(body, "prompt", "")
    out["max_tokens"] = _integer(out, "max_tokens", 0, max_length,
                                 f"at most --max-length, {max_length:,}")  # fmt: skip
    out["n"] = _integer(out, "n", 1, MAX_N)
    best_of = body.get("best_of")
    if best_of is not None and best_of != out["n"]:
        raise ApiError(400, "best_of is not supported (only best_of = n)", "best_of")
    _sampling(out)
    out["stop"] = _stops(out["stop"])
    for flag in ("echo", "stream", "skip_unknown"):
        if not isinstance(out[flag], bool):
            raise ApiError(400, f"{flag} must be true or false", flag)
    options = body.get("stream_options") or {}
    if not isinstance(options, dict):
        raise ApiError(400, "stream_options must be an object", "stream_options")
    out["include_usage"] = bool(options.get("include_usage", False))
    return out


def fill(body):
    """The settings of a /v1/fill body: {prompt, blank, sweeps, temperature, top_p, top_k, seed,
    skip_unknown, greedy}."""
    out = _fields(body, FILL_DEFAULTS, set(FILL_DEFAULTS) | {"model", "prompt", "user"})
    out["prompt"] = _text(body, "prompt", None)
    if not isinstance(out["blank"], str) or len(out["blank"]) != 1:
        raise ApiError(400, "blank must be a single character", "blank")
    out["sweeps"] = _integer(out, "sweeps", 1, 100)
    _sampling(out)
    if not isinstance(out["skip_unknown"], bool):
        raise ApiError(400, "skip_unknown must be true or false", "skip_unknown")
    return out


def _fields(body, defaults, known):
    """body's values of the keys in defaults (a null is the default); a key outside known is
    a 400 naming it."""
    unknown = sorted(set(body) - set(known))
    if unknown:
        raise ApiError(400, f"unknown field(s): {', '.join(unknown)}", unknown[0])
    return {k: v if body.get(k) is None else body[k] for k, v in defaults.items()}


def _neutral(body):
    for key, allowed in NEUTRAL.items():
        value = body.get(key)
        if value not in allowed and not (key == "logit_bias" and value == {}):
            raise ApiError(400, f"{key} is not supported by charlm (only {allowed[0]!r})", key)


def _text(body, key, default):
    value = body.get(key, default)
    if value is None or not isinstance(value, str):
        shown = "is required" if value is None else "must be a string"
        raise ApiError(400, f"{key} {shown}", key)
    return value


def _integer(out, key, low, high, why=None):
    value = out[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, f"{key} must be an integer", key)
    if not low <= value <= high:
        raise ApiError(400, f"{key} {value} is out of range: {low} to {why or high}", key)
    return value


def _number(out, key, low, high):
    value = out[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ApiError(400, f"{key} must be a finite number", key)
    if not low <= value <= high:
        raise ApiError(400, f"{key} {value:g} is out of range: {low:g} to {high:g}", key)
    return float(value)


def _sampling(out):
    """temperature 0 means greedy, as in OpenAI's API; top_k 0 means all."""
    out["temperature"] = _number(out, "temperature", 0.0, 100.0)
    out["greedy"] = out["temperature"] < 1e-3
    out["temperature"] = max(out["temperature"], 1e-3)
    out["top_p"] = _number(out, "top_p", 0.0, 1.0)
    if out["top_p"] <= 0:
        raise ApiError(400, "top_p must be more than 0 (1: all)", "top_p")
    out["top_k"] = _integer(out, "top_k", 0, 10**6)
    if out["seed"] is not None:
        out["seed"] = _integer(out, "seed", 0, SEED_MAX)


def _stops(stop):
    if stop is None:
        return []
    stops = [stop] if isinstance(stop, str) else stop
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
        raise ApiError(400, "stop must be a string or a list of strings", "stop")
    if len(stops) > MAX_STOP:
        raise ApiError(400, f"stop: at most {MAX_STOP} sequences", "stop")
    return [s for s in stops if s]


def new_id(prefix="cmpl"):
    return f"{prefix}-{secrets.token_hex(12)}"


def completion_body(cid, created, model, choices, prompt_tokens, completion_tokens):
    """A whole (not streamed) answer; choices: [(text, finish_reason)] in index order."""
    return {"id": cid, "object": "text_completion", "created": created, "model": model,
            "choices": [{"text": t, "index": i, "logprobs": None, "finish_reason": r}
                        for i, (t, r) in enumerate(choices)],
            "usage": usage(prompt_tokens, completion_tokens)}  # fmt: skip


def chunk(cid, created, model, index, text, finish_reason=None):
    """One server-sent event's JSON while streaming."""
    return {"id": cid, "object": "text_completion", "created": created, "model": model,
            "choices": [{"text": text, "index": index, "logprobs": None,
                         "finish_reason": finish_reason}]}  # fmt: skip


def usage(prompt_tokens, completion_tokens):
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}  # fmt: skip


def now():
    return int(time.time())
