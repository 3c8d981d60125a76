"""Continuous batching: every stream of one model advances in one batched step.

A stream is one completion (one of a request's n choices). Its whole state is the model's
(h, c) rows, so any number of streams step together, one matrix product per layer for all of
them (charlm.sample.step):

    loop:   admit the streams that arrived as new rows: a prompt of up to 64 characters is
            read inside the batch, a character a step; a longer one alone, at once
            (charlm.nn.infer.read), before its row joins
            pick each row's next character, by its own settings and random generator
            streams that are done (length, a stop sequence, a client gone) leave
            step the rest: logits, state = step(params, spec, their characters, their rows)

A stream's text depends only on its prompt, settings and seed: the same as charlm sample's
(its rows are computed alone, never mixed with the others', by charlm.sample.step and
pick_rows). The engine runs in its own thread; what a step produced reaches the server's
event loop in one call per step, not one per stream.
"""

import codecs
import contextlib
import queue
import threading

import numpy as np

from charlm.nn.infer import read
from charlm.nn.model import init_state
from charlm.sample import SHORT_PRIME, Settings, pick_rows, prepared, start_ids, step


class Stream:
    """One completion: prompt ids, at most `length` characters, settings, its own generator.

    on_event(stream, text, done) is called on the server's loop with the text that is ready
    (never a part of a possible stop sequence) and, at the end, done=True with
    finish_reason "length" or "stop" ("abort": the server stopped first, as vLLM says)."""

    def __init__(self, ids, length, rng, temperature=1.0, top_k=0, top_p=1.0, greedy=False,
                 stop=(), on_event=None, loop=None):  # fmt: skip
        self.ids, self.length, self.rng = ids, length, rng
        self.settings = (float(temperature), int(top_k or 0), float(top_p), bool(greedy))
        self.stop, self.on_event, self.loop = tuple(s for s in stop if s), on_event, loop
        self.count, self.held, self.text = 0, "", []
        self.whole = False  # True: its text in one event at the end (a request not streamed)
        self.finish_reason, self.error = None, None
        self.feed, self.at = (), 0  # a short prompt, read a character a step inside the batch
        self.cancelled = False  # set by the server's side: the client went away
        self.decode = None

    def add(self, piece):
        """Take one generated character's text; returns the text now safe to send."""
        self.count += 1
        held = self.held + piece
        for s in self.stop:
            at = held.find(s)
            if at >= 0:
                self.finish_reason, self.held = "stop", ""
                return held[:at]
        if self.count >= self.length:
            self.finish_reason, self.held = "length", ""
            return held
        keep = _stop_prefix(held, self.stop)
        self.held = held[len(held) - keep :]
        return held[: len(held) - keep]


def _stop_prefix(text, stops):
    """The length of the longest end of text that begins some stop sequence."""
    best = 0
    for s in stops:
        for k in range(min(len(s) - 1, len(text)), best, -1):
            if text.endswith(s[:k]):
                best = k
                break
    return best


class Engine:
    """The batcher of one model (a charlm.run.checkpoint.Checkpoint), in its own thread.

    submit() hands it a Stream; on_leave(stream) is called (in the engine's thread) as each
    stream leaves, so the server can count its streams."""

    def __init__(self, ck, on_leave=lambda stream: None):
        self.params, self.spec, self.vocab = ck.params, ck.spec, ck.vocab
        self.stepping = prepared(ck.params)  # (the prompts are read with the params as they are)
        self.dtype = self.params["head.weight"].dtype
        codes = self.vocab.codes.tolist()
        self.symbols = [bytes([c]) for c in codes] if self.vocab.byte_level else list(
            map(chr, codes))  # fmt: skip
        self.on_leave = on_leave
        self.inbox = queue.SimpleQueue()
        self.active, self.state, self.last, self.rows = [], None, None, None
        self.steps = 0
        self.thread = threading.Thread(target=self._run, daemon=True, name="charlm-engine")
        self.thread.start()

    def submit(self, stream):
        self.inbox.put(stream)

    def close(self):
        """Stop the thread; streams still running end with finish_reason "abort"."""
        if self.thread.is_alive():
            self.inbox.put(None)
            self.thread.join()

    def _run(self):
        while True:
            try:
                arrived = [self.inbox.get(timeout=None if not self.active else 0)]
            except queue.Empty:
                arrived = []
            while True:  # everything that is waiting joins at this step
                try:
                    arrived.append(self.inbox.get_nowait())
                except queue.Empty:
                    break
            if None in arrived:
                for s in self.active + [a for a in arrived if a is not None]:
                    s.finish_reason = s.finish_reason or "abort"
                self._deliver([(s, "", True) for s in self.active], self.active)
                return
            try:
                self._admit(arrived)
                if self.active:
                    self._advance()
            except Exception as e:  # noqa: BLE001 (a failed step ends its streams, not the server)
                self._fail(arrived, f"{type(e).__name__}: {e}")

    def _fail(self, arrived, reason):
        """Every stream in the batch ends with finish_reason "error" and the reason."""
        streams = self.active + [s for s in arrived if s not in self.active]
        for s in streams:
            s.finish_reason, s.error = "error", reason
        self.active, self.state, self.last = [], None, None
        self._deliver([(s, "", True) for s in streams], streams)

    def _admit(self, arrived):
        fresh = [s for s in arrived if not s.cancelled]
        for s in arrived:
            if s.cancelled:
                self.on_leave(s)
        lasts, states = [], []
        for s in fresh:  # charlm.sample.read_prime's rule, so that a stream's numbers are sample's
            ids = np.asarray(s.ids if len(s.ids) else start_ids(self.vocab), dtype=np.int64)
            state = init_state(self.spec, 1, self.dtype)
            if len(ids) <= SHORT_PRIME:
                s.feed, last = ids.tolist(), np.zeros((1, len(self.vocab)), self.dtype)
            else:
                last, state = read(self.params, self.spec, ids[:, None], state)
            s.decode = _decoder(self.vocab.byte_level, self.symbols)
            lasts.append(last)
            states.append(state)
        if fresh:  # the new rows join in one copy, however many arrived
            self.active += fresh
            lasts = ([] if self.last is None else [self.last]) + lasts
            states = ([] if self.state is None else [self.state]) + states
            self.last = np.concatenate(lasts)
            self.state = tuple(np.concatenate(parts, axis=1) for parts in zip(*states, strict=True))
            self._settings()

    def _settings(self):
        columns = list(zip(*(s.settings for s in self.active), strict=True))
        t, k, p, g = (np.array(c) for c in columns)
        self.rows = Settings(t.astype(np.float64), k.astype(np.int64), p, g.astype(bool))

    def _advance(self):
        """Every row picks (a row still reading its prompt: draws nothing, and its next prompt
        character replaces the pick), the finished leave, the rest step."""
        u = np.array([0.0 if s.settings[3] or s.at < len(s.feed) else s.rng.random()
                      for s in self.active])  # fmt: skip
        ids = pick_rows(self.last, u, self.rows)
        events, keep = [], []
        for r, (s, i) in enumerate(zip(self.active, ids.tolist(), strict=True)):
            if s.cancelled:
                continue
            if s.at < len(s.feed):
                ids[r], s.at = s.feed[s.at], s.at + 1
                keep.append(r)
                continue
            text = s.add(s.decode(i))
            done = s.finish_reason is not None
            if s.whole:  # no wake-up of the server's loop a character
                s.text.append(text)
                text = "".join(s.text) if done else ""
            if text or done:
                events.append((s, text, done))
            if not done:
                keep.append(r)
        kept = set(keep)
        self._deliver(events, [s for r, s in enumerate(self.active) if r not in kept])
        if len(keep) < len(self.active):
            self.active = [self.active[r] for r in keep]
            if not keep:
                self.state = self.last = None
                return
            self.state = tuple(a[:, keep] for a in self.state)
            ids = ids[keep]
            self._settings()
        self.last, self.state = step(self.stepping, self.spec, ids, self.state)
        self.steps += 1

    def _deliver(self, events, gone):
        """events to their loops in one call each; then the streams that left are let go."""
        by_loop = {}
        for e in events:
            if e[0].loop is not None:
                by_loop.setdefault(e[0].loop, []).append(e)
        for loop, batch in by_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody is listening
                loop.call_soon_threadsafe(_dispatch, batch)
        for s in gone:
            self.on_leave(s)


def _dispatch(batch):
    for stream, text, done in batch:
        stream.on_event(stream, text, done)


def _decoder(byte_level, symbols):
    """id -> text for one stream; a byte-level model's stream keeps its own UTF-8 state."""
    if not byte_level:
        return symbols.__getitem__
    inc = codecs.getincrementaldecoder("utf-8")(errors="replace")
    return lambda i: inc.decode(symbols[i])
