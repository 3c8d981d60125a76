"""Model: a trained character model from a checkpoint, and what it does without training
(sample, generate, fill, evaluate, forward, export; looking inside it: charlm.api.inside)."""

from pathlib import Path

import numpy as np

from charlm import memory, sample
from charlm.api import checks
from charlm.api.inside import Inside
from charlm.errors import ArgumentError, CharlmError, literal
from charlm.nn import head
from charlm.nn.infer import CHUNK
from charlm.nn.model import forward as model_forward
from charlm.nn.model import memory as model_memory
from charlm.run import checkpoint, data
from charlm.run import config as config_mod
from charlm.run import train as training


class Model(Inside):
    """A character model from a checkpoint: its config, vocabulary and parameters, and what it
    can do without training. `checkpoint` is the whole record (optimiser state included)."""

    def __init__(self, ck, path=None):
        self.checkpoint, self.path = ck, None if path is None else Path(path)

    config = property(lambda self: self.checkpoint.config, doc="the resolved charlm.Config")
    vocab = property(lambda self: self.checkpoint.vocab, doc="the symbols, sorted (Vocab)")
    params = property(lambda self: self.checkpoint.params, doc="{PyTorch name: array}")
    spec = property(lambda self: self.checkpoint.spec, doc="the architecture (ModelSpec)")
    step = property(lambda self: self.checkpoint.step, doc="training steps done")

    def __repr__(self):
        s = self.spec
        return f"<charlm.Model {s.describe()}, hidden {s.hidden_size}, step {self.step:,}>"

    def generate(self, prime="", length=500, temperature=1.0, top_k=None, seed=None,
                 greedy=False, skip_unknown=False, echo_prime=False, top_p=1.0):  # fmt: skip
        """Yield the text that follows prime, a piece at a time, as it is generated (a piece
        is one character; for a byte-level model, what its bytes decode to so far).
        echo_prime: yield the prime (as the model read it) first. top_p: sample only from the
        likeliest characters that hold this much of the probability (nucleus sampling)."""
        check_sampling(length, temperature, top_k, seed, greedy=greedy, top_p=top_p)
        checks.text("prime", prime)
        checks.flag("skip_unknown", skip_unknown)
        if self.spec.bidirectional:
            raise ArgumentError(
                "prime",
                ArgumentError.HIDDEN,
                "a bidirectional model fills blanks: use fill(), not generate()",
            )
        ids = sample.encode_prime(self.vocab, prime, skip_unknown)
        self._check_reading(min(len(ids), CHUNK), "prime")  # read a chunk at a time
        return self._pieces(
            ids,
            length,
            np.random.default_rng(seed),
            echo_prime,
            dict(temperature=temperature, top_k=top_k, greedy=greedy, top_p=top_p),
        )

    def _pieces(self, ids, length, rng, echo_prime, options):
        decode = self.vocab.decoder()
        if echo_prime:
            yield decode(ids)
        start = ids if len(ids) else sample.start_ids(self.vocab)
        for i in sample.generate(self.params, self.spec, start, length, rng, **options):
            piece = decode([i])
            if piece:
                yield piece

    def sample(self, prime="", length=500, temperature=1.0, top_k=None, seed=None,
               greedy=False, skip_unknown=False, top_p=1.0):  # fmt: skip
        """The prime followed by `length` generated characters, as `charlm sample` prints
        them: the same seed gives the same text."""
        pieces = self.generate(
            prime, length, temperature, top_k, seed, greedy, skip_unknown, True, top_p
        )
        return "".join(pieces)

    def fill(self, prime, blank="_", sweeps=4, seed=None, temperature=1.0, top_k=None,
             greedy=False, skip_unknown=False, top_p=1.0):  # fmt: skip
        """prime with every blank filled by a bidirectional (cloze) model: left to right, then
        `sweeps` Gibbs sweeps that resample each blank given the others."""
        check_sampling(0, temperature, top_k, seed, sweeps, blank, greedy, top_p)
        checks.text("prime", prime)
        checks.flag("skip_unknown", skip_unknown)
        if not self.spec.bidirectional:
            raise ArgumentError(
                "prime",
                ArgumentError.HIDDEN,
                f"has blanks '{blank}', but this model reads left to right: it continues "
                f"text and cannot fill blanks; train a bidirectional one (configs/bilstm.yaml)",
            )
        if blank not in prime:
            raise ArgumentError(
                "prime",
                ArgumentError.HIDDEN,
                f"has no blank '{blank}', and this is a bidirectional (fill-in-the-blank) "
                f'model; e.g. "I am _____ hungry"',
            )
        ids, blanks = sample.parse_blanks(self.vocab, prime, blank, skip_unknown)
        self._check_reading(len(ids), "prime")
        rng = np.random.default_rng(seed)
        options = dict(temperature=temperature, top_k=top_k, greedy=greedy, sweeps=sweeps,
                       top_p=top_p)  # fmt: skip
        return self.vocab.decode(sample.fill(self.params, self.spec, ids, blanks, rng, **options))

    def evaluate(self, text=None, *, path=None, corpus=None, split="validation"):
        """{"loss" (nats/char), "bpc", "chars", "source"} over text (a str), a file (path, read
        with the model's encoding) or, with neither, a split of the run's corpus: "validation"
        or "test" (held out by data.test_fraction; corpus: where the run's corpus is now, if it
        moved; the same text is checked by its SHA-256). The text is read as 128 streams, each
        but the first warmed up on the 64 characters before its part, in windows of the run's
        seq_len (charlm.run.train.evaluate): the loss of one stream, read at the speed of many."""
        checks.text("text", text, optional=True)
        checks.path("path", path, optional=True)
        checks.path("corpus", corpus, optional=True)
        checks.choice("split", split, ("validation", "test"))
        if path is not None and corpus is not None:
            both = "{path} evaluates a file, {corpus} the run's validation or test split: not both"
            raise ArgumentError("corpus", ArgumentError.WHOLE, both)
        if text is not None and (path is not None or corpus is not None):
            one = "evaluate a string ({text}), a file ({path}) or a split of the corpus: one"
            raise ArgumentError("text", ArgumentError.WHOLE, one)
        if split != "validation" and (text is not None or path is not None):
            whose = "{split} chooses a split of the run's corpus; a text or file is read whole"
            raise ArgumentError("split", ArgumentError.WHOLE, whose)
        cfg = self.config
        if split == "test" and not cfg.data.test_fraction:
            none = "this run holds out no test split (data.test_fraction is 0)"
            raise ArgumentError("split", split, none)
        if text is not None:
            ids, source = self.vocab.encode(text), "the text"
        elif path is not None:
            ids, source = data.read(path, cfg.data.encoding, self.vocab)[0], str(path)
        else:
            if corpus is not None:
                cfg = config_mod.replaced(cfg, {"data.corpus": (str(corpus), "corpus")})
            found = training.load_corpus(cfg, self.vocab, identity=self.checkpoint.corpus)
            ids = found.test if split == "test" else found.val
            source = f"the {split} split of {found.path}"
        if len(ids) < 2:
            raise ArgumentError(
                "text" if text is not None else "path",
                ArgumentError.HIDDEN,
                f"{literal(source)}: too short to evaluate (at least 2 characters)",
            )
        itemsize, seq_len = self.params["head.weight"].dtype.itemsize, cfg.train.seq_len
        need = training.eval_memory(self.spec, itemsize, seq_len)
        memory.require(need, "evaluating this model needs")
        loss, n = training.evaluate(self.params, self.spec, ids, seq_len=seq_len)
        return {"loss": loss, "bpc": loss / head.LN2, "chars": n, "source": source}

    def forward(self, text):
        """The model read over text (state from zeros, dropout off):
        logits  (T, V)   the scores each position gives the next character (a
                         bidirectional model: the character itself, from both sides)
        h       [(T, H)] every layer's hidden state h_t, the forward stack's layers first,
                         then (bidirectional) the backward stack's, in reading order
        c       [(T, H)] the LSTM's memory c_t, likewise (absent for other cells)
        chars   [str]    the symbols read"""
        ids = checks.encode(self.vocab, checks.text("text", text), False, "text")
        if len(ids) == 0:
            raise ArgumentError(
                "text", "", "the text is empty: give forward() at least one character"
            )
        self._check_reading(len(ids), "text")
        logits, _, cache = model_forward(self.params, self.spec, ids[:, None])
        out = {"logits": logits[:, 0], "h": [], "chars": [self.vocab.symbol(i) for i in ids]}
        if self.spec.cell == "lstm":
            out["c"] = []
        for d, stack in enumerate(cache.stacks):
            for cell_cache, _ in stack:
                order = slice(None, None, -1) if d else slice(None)  # reverse: reading order
                out["h"].append(cell_cache.h[1:, 0][order])
                if "c" in out:
                    out["c"].append(cell_cache.c[1:, 0][order])
        return out

    def export(self, out, force=False):
        """Write the weights as .safetensors under torch.nn's names (charlm.handoff); returns
        the tensors written."""
        from charlm import handoff

        checks.path("out", out)
        inputs = [self.path] if self.path is not None else []
        return handoff.export(self.checkpoint, out, checks.flag("force", force), inputs=inputs)

    def _check_reading(self, n, param, backward=False, factor=1, itemsize=None, extra=0):
        """Refuse, before the forward pass, a text whose activations would not fit (factor
        times a pass over n characters, plus extra bytes), naming the argument param."""
        itemsize = itemsize or self.params["head.weight"].dtype.itemsize
        need = factor * model_memory(self.spec, 1, n, itemsize, backward=backward) + extra
        try:
            memory.require(need, f"reading {n:,} characters at a time with this model needs")
        except CharlmError as e:
            raise ArgumentError(param, ArgumentError.HIDDEN, literal(e)) from None


def check_sampling(length=0, temperature=1.0, top_k=None, seed=None, sweeps=1, blank="_",
                   greedy=False, top_p=1.0):  # fmt: skip
    """Refuse sampling options that make no sense (the CLI checks them before loading)."""
    checks.integer("sweeps", sweeps, 1, 1000)
    checks.text("blank", blank)
    if len(blank) != 1:
        raise ArgumentError("blank", blank, "must be a single character")
    checks.integer("length", length, 0, checks.CHARS)
    checks.number("temperature", temperature, high=1000.0)
    if temperature < 1e-3:  # lower overflows: greedy
        raise ArgumentError(
            "temperature",
            temperature,
            "must be > 0 (or use {greedy=True}), finite and at least 0.001 (lower is "
            "{greedy=True}, the likeliest character every time)",
        )
    checks.integer("top_k", top_k, 1, 10**6, optional=True)
    checks.integer("seed", seed, 0, checks.SEED, optional=True)
    checks.flag("greedy", greedy)
    checks.number("top_p", top_p, high=1.0)
    if top_p <= 0:
        raise ArgumentError("top_p", top_p, "must be in (0, 1]: the share of the probability "
                            "the likeliest characters kept must hold (1: all)")  # fmt: skip


def checkpoint_path(path=None):
    """The checkpoint file path means: a .npz, a run folder's latest.npz (or best.npz), or
    with None the most recently written checkpoint under checkpoints/."""
    if path is None:
        return checkpoint.newest(config_mod.OutputConfig().dir)
    return checkpoint.find(checks.path("path", path))


def load(path=None):
    """The Model in a checkpoint: a .npz file or a run folder (its latest.npz); None: the
    newest checkpoint under checkpoints/."""
    found = checkpoint_path(path)
    return Model(checkpoint.load(found), found)
