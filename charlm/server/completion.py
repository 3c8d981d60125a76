"""One completion request: its n streams (charlm.server.batch) and how their text reaches the
client, whole or as server-sent events. Choice i of a request with a seed is seeded seed + i:
`charlm sample --seed SEED+i` writes the same text."""

import asyncio
import json

import numpy as np

from charlm.server import protocol
from charlm.server.batch import Stream
from charlm.server.protocol import ApiError


class Call:
    """One completion request: its n streams and how their text reaches the client."""

    def __init__(self, model, want, ids):
        self.model, self.want, self.ids = model, want, ids
        self.cid, self.created = protocol.new_id(), protocol.now()
        self.loop, self.queue = asyncio.get_running_loop(), asyncio.Queue()
        self.texts = [[] for _ in range(want["n"])]
        self.echo = model.ck.vocab.decode(ids) if want["echo"] else ""
        seed = want["seed"]
        self.streams = []
        for i in range(want["n"]):  # choice i is `charlm sample --seed SEED+i`
            rng = np.random.default_rng(None if seed is None else seed + i)
            s = Stream(
                ids,
                want["max_tokens"],
                rng,
                want["temperature"],
                want["top_k"],
                want["top_p"],
                want["greedy"],
                want["stop"],
                self._on_event,
                self.loop,
            )
            s.index, s.whole = i, not want["stream"]
            self.streams.append(s)
        for s in self.streams:
            if want["max_tokens"] == 0:  # nothing to generate: no stream to run
                s.finish_reason = "length"
                model.engine.on_leave(s)
                self.queue.put_nowait((s.index, "", True))
            else:
                model.engine.submit(s)

    def _on_event(self, stream, text, done):
        self.queue.put_nowait((stream.index, text, done))

    def cancel(self):
        for s in self.streams:
            s.cancelled = True

    async def whole(self, request):
        left = len(self.streams)
        gone = asyncio.ensure_future(_disconnected(request))
        try:
            while left:
                got = asyncio.ensure_future(self.queue.get())
                await asyncio.wait({got, gone}, return_when=asyncio.FIRST_COMPLETED)
                if not got.done():
                    got.cancel()
                    self.cancel()
                    return {}
                index, text, done = got.result()
                self.texts[index].append(text)
                left -= done
        finally:
            gone.cancel()
        failed = [s.error for s in self.streams if s.error]
        if failed:
            raise ApiError(500, f"the model failed: {failed[0]}")
        choices = [(self.echo + "".join(t), s.finish_reason)
                   for t, s in zip(self.texts, self.streams, strict=True)]  # fmt: skip
        return protocol.completion_body(self.cid, self.created, self.model.name, choices,
                                        len(self.ids), self._generated())  # fmt: skip

    def _generated(self):
        return sum(s.count for s in self.streams)

    async def events(self):
        left, name = len(self.streams), self.model.name
        try:
            if self.echo:
                for s in self.streams:
                    yield _sse(protocol.chunk(self.cid, self.created, name, s.index, self.echo))
            while left:
                got = [await self.queue.get()]
                while not self.queue.empty():  # a client that fell behind: one event a choice
                    got.append(self.queue.get_nowait())
                for index, text, done in _merge(got):
                    reason = self.streams[index].finish_reason if done else None
                    if reason == "error":
                        failed = ApiError(500, f"the model failed: {self.streams[index].error}")
                        yield _sse(failed.body())
                        reason = "length"  # what a client library knows
                    yield _sse(protocol.chunk(self.cid, self.created, name, index, text, reason))
                    left -= done
            if self.want["include_usage"]:
                tail = protocol.chunk(self.cid, self.created, name, 0, "")
                tail["choices"] = []
                tail["usage"] = protocol.usage(len(self.ids), self._generated())
                yield _sse(tail)
            yield "data: [DONE]\n\n"
        finally:  # the client went away (or the answer is whole): free its streams now
            self.cancel()


def _merge(events):
    """The events waiting, one per choice: (index, all its text, done), in the order each
    choice first appears (a choice's own events arrive in order, and done is its last)."""
    merged = {}
    for index, text, done in events:
        before = merged.get(index, ("", False))
        merged[index] = (before[0] + text, done)
    return [(index, text, done) for index, (text, done) in merged.items()]


def _sse(obj):
    return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n"


async def _disconnected(request):
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return
