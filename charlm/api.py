"""charlm's public Python API: what the command line does, for a notebook or a script.

    import charlm
    model = charlm.train(corpus="my.txt", steps=200, run="mine")    # a Model
    model = charlm.load("checkpoints/mine")                         # the same, from disk
    model.sample("ROMEO:", length=200, seed=1)                      # text, as `charlm sample`
    model.evaluate()                                                 # {"loss", "bpc", "chars"}
    out = model.forward("To be")                                     # logits and hidden states

Every refusal is a charlm.CharlmError with the one-line message the CLI prints. The CLI
(charlm.cli) is a layer over these functions: it parses, calls and prints.
"""

import math
from pathlib import Path

import numpy as np

from charlm import files, memory, sample
from charlm.errors import CharlmError
from charlm.nn import head
from charlm.nn.infer import CHUNK
from charlm.nn.model import forward as model_forward
from charlm.nn.model import memory as model_memory
from charlm.reporting import make as making
from charlm.run import checkpoint, data, launch, rundir
from charlm.run import config as config_mod
from charlm.run import train as training
from charlm.run.metrics import Reporter
from charlm.run.optim import planned_rate


class Model:
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
                 greedy=False, skip_unknown=False, echo_prime=False):  # fmt: skip
        """Yield the text that follows prime, a piece at a time, as it is generated (a piece
        is one character; for a byte-level model, what its bytes decode to so far).
        echo_prime: yield the prime (as the model read it) first."""
        check_sampling(length, temperature, top_k, seed)
        if self.spec.bidirectional:
            raise CharlmError("a bidirectional model fills blanks: use fill(), not generate()")
        ids = sample.encode_prime(self.vocab, prime, skip_unknown)
        self._check_reading(min(len(ids), CHUNK), "--prime")  # read a chunk at a time
        decode, rng = self.vocab.decoder(), np.random.default_rng(seed)
        if echo_prime:
            yield decode(ids)
        start = ids if len(ids) else sample.start_ids(self.vocab)
        options = dict(temperature=temperature, top_k=top_k, greedy=greedy)
        for i in sample.generate(self.params, self.spec, start, length, rng, **options):
            piece = decode([i])
            if piece:
                yield piece

    def sample(self, prime="", length=500, temperature=1.0, top_k=None, seed=None,
               greedy=False, skip_unknown=False):  # fmt: skip
        """The prime followed by `length` generated characters, as `charlm sample` prints
        them: the same seed gives the same text."""
        pieces = self.generate(prime, length, temperature, top_k, seed, greedy, skip_unknown,
                               echo_prime=True)  # fmt: skip
        return "".join(pieces)

    def fill(self, text, blank="_", sweeps=4, seed=None, temperature=1.0, top_k=None,
             greedy=False, skip_unknown=False):  # fmt: skip
        """text with every blank filled by a bidirectional (cloze) model: left to right, then
        `sweeps` Gibbs sweeps that resample each blank given the others."""
        check_sampling(0, temperature, top_k, seed, sweeps, blank)
        if not self.spec.bidirectional:
            raise CharlmError(
                f"--prime has blanks '{blank}', but this model reads left to right: it continues "
                f"text and cannot fill blanks; train a bidirectional one (configs/bilstm.yaml)"
            )
        if blank not in text:
            raise CharlmError(
                f"this is a bidirectional (fill-in-the-blank) model and --prime has no "
                f"blank '{blank}'; e.g. --prime \"I am _____ hungry\""
            )
        ids, blanks = sample.parse_blanks(self.vocab, text, blank, skip_unknown)
        self._check_reading(len(ids), "--prime")
        rng = np.random.default_rng(seed)
        options = dict(temperature=temperature, top_k=top_k, greedy=greedy, sweeps=sweeps)
        return self.vocab.decode(sample.fill(self.params, self.spec, ids, blanks, rng, **options))

    def evaluate(self, text=None, *, path=None, corpus=None):
        """{"loss" (nats/char), "bpc", "chars", "source"} over text (a str), a file (path, read
        with the model's encoding) or, with neither, the run's validation split (corpus: where
        the run's corpus is now, if it moved; the same text is checked by its SHA-256). The text
        is read as 128 streams, each but the first warmed up on the 64 characters before its
        part, in windows of the run's seq_len (charlm.run.train.evaluate): the loss of one
        stream, read at the speed of many."""
        if path is not None and corpus is not None:
            raise CharlmError(
                "--text evaluates a file, --corpus the run's validation split: not both"
            )
        if text is not None and (path is not None or corpus is not None):
            raise CharlmError("evaluate a string, a file (path) or the validation split: one")
        cfg = self.config
        if text is not None:
            ids, source = self.vocab.encode(text), "the text"
        elif path is not None:
            ids, source = data.read(path, cfg.data.encoding, self.vocab)[0], str(path)
        else:
            if corpus is not None:
                cfg = config_mod.apply(cfg, [f"data.corpus={corpus}"], "--corpus")
            found = training.load_corpus(cfg, self.vocab, identity=self.checkpoint.corpus)
            ids, source = found.val, f"the validation split of {found.path}"
        if len(ids) < 2:
            raise CharlmError(f"{source}: too short to evaluate (at least 2 characters)")
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
        ids = self.vocab.encode(text)
        if len(ids) == 0:
            raise CharlmError("the text is empty: give forward() at least one character")
        self._check_reading(len(ids), "the text")
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

        inputs = [self.path] if self.path is not None else []
        files.check_target(out, "file", force, inputs=inputs)
        return handoff.export(self.checkpoint, out, force, inputs=inputs)

    def _check_reading(self, n, what, backward=False, itemsize=None):
        """Refuse, before the forward pass, a text whose activations would not fit."""
        itemsize = itemsize or self.params["head.weight"].dtype.itemsize
        need = model_memory(self.spec, 1, n, itemsize, backward=backward)
        memory.require(need, f"{what}: reading {n:,} characters at a time with this model needs")


def check_sampling(length=0, temperature=1.0, top_k=None, seed=None, sweeps=1, blank="_"):
    """Refuse sampling options that make no sense (the CLI checks them before loading)."""
    if sweeps < 1:
        raise CharlmError(f"--sweeps {sweeps}: must be 1 or more")
    if len(blank) != 1:
        raise CharlmError(f"--blank {blank!r}: must be a single character")
    if length < 0:
        raise CharlmError(f"--length {length}: must be 0 or more")
    if not (math.isfinite(temperature) and temperature >= 1e-3):  # lower overflows: --greedy
        raise CharlmError(
            f"--temperature {temperature:g}: must be > 0 (or use --greedy), finite and at least "
            f"0.001 (lower is --greedy, the likeliest character every time)"
        )
    if top_k is not None and top_k < 1:
        raise CharlmError(f"--top-k {top_k}: must be 1 or more")
    if seed is not None and seed < 0:
        raise CharlmError(f"--seed {seed}: must be 0 or more")


def checkpoint_path(path=None):
    """The checkpoint file path means: a .npz, a run folder's latest.npz (or best.npz), or
    with None the most recently written checkpoint under checkpoints/."""
    if path is None:
        return checkpoint.newest(config_mod.OutputConfig().dir)
    return checkpoint.find(path)


def load(path=None):
    """The Model in a checkpoint: a .npz file or a run folder (its latest.npz); None: the
    newest checkpoint under checkpoints/."""
    found = checkpoint_path(path)
    return Model(checkpoint.load(found), found)


def train(config=None, *, corpus=None, steps=None, minutes=None, run=None, overrides=(),
          resume=False, force=False, callback=None, reporter=None, should_stop=None,
          progress=None):  # fmt: skip
    """Train a model as `charlm train` does (the same checkpoints, metrics.jsonl and exact
    resume) and return it. config: a YAML file (None: the defaults); corpus, steps, run:
    shortcuts for data.corpus, train.max_steps, output.run; minutes: train for this many
    minutes of training time, the schedule planned to end on time (train.minutes, instead
    of steps); overrides: "section.key=value"
    strings; resume: True (the config's run) or a run folder / checkpoint to continue;
    force: replace a run folder that holds a run. callback(figures) is called after every
    step with {"step", "total", "epoch", "loss", "smooth_loss", "grad_norm", "lr",
    "chars_per_s"}; reporter (a charlm.run.metrics.Reporter) and should_stop() are the hooks
    the CLI uses for its display and Ctrl-C. The returned Model has .outcome ("done",
    "stopped", or "time": the budget was spent first), .run_dir, .total and .report (the
    run's report.html, or None without train.report); with train.tensorboard the run folder
    also gets TensorBoard events."""
    sets = list(overrides)
    sets += [f"data.corpus={corpus}"] if corpus is not None else []
    sets += [f"train.max_steps={steps}"] if steps is not None else []
    if minutes is not None and steps is not None:
        raise CharlmError("--steps and --minutes both say how long to train: give one")
    sets += [f"train.minutes={minutes}"] if minutes is not None else []
    sets += [f"output.run={run}"] if run is not None else []
    if resume:
        source = None if resume is True else resume
        start = launch.resumed(source, config, sets, force, progress)
    else:
        start = launch.fresh(config, sets, force, progress)
    reporter = reporter or Reporter()
    if callback is not None:
        reporter = _Callback(reporter, callback)
    making.check(start.ck.config)  # an extra asked for (report, tensorboard) is installed
    for note in start.notes:
        reporter.note(note)
    with rundir.locked(start.run_dir):  # taken last: a refused call leaves no folder
        start.recheck()
        rundir.prepare(start.run_dir, fresh=start.fresh_folder)
        stop = should_stop or (lambda: False)
        failed = None
        try:
            sinks = making.sinks(start.ck, start.run_dir)
            outcome = training.run(
                start.ck, start.corpus, start.run_dir, reporter, stop, start.metrics_from, sinks
            )
        except CharlmError as e:  # diverged, say: the last page says so too
            failed = e
    page = making.final(start.ck, start.run_dir)  # the lock is free: it says how the run ended
    if failed is not None:
        raise failed
    model = Model(start.ck, start.run_dir / checkpoint.LATEST)
    total = training.total_steps(start.ck.config, start.corpus.batches.windows, start.ck.schedule)
    model.outcome, model.run_dir, model.total = outcome, start.run_dir, total
    model.report = page
    return model


class _Callback(Reporter):
    """A Reporter that passes everything on, and hands each step's figures to a function."""

    def __init__(self, inner, callback):
        self.inner, self.callback = inner, callback

    def started(self, *args):
        self.inner.started(*args)

    def evaluated(self, *args):
        self.inner.evaluated(*args)

    def sampled(self, *args):
        self.inner.sampled(*args)

    def saved(self, *args):
        self.inner.saved(*args)

    def note(self, text):
        self.inner.note(text)

    def stepped(self, ck, total, loss, grad_norm, chars_per_s):
        self.inner.stepped(ck, total, loss, grad_norm, chars_per_s)
        t = ck.config.train
        self.callback({
            "step": ck.step, "total": total, "epoch": ck.epoch, "loss": loss,
            "smooth_loss": ck.smooth_loss, "grad_norm": grad_norm,
            "lr": planned_rate(t, ck.step, ck.schedule), "chars_per_s": chars_per_s,
        })  # fmt: skip


def report(runs, out=None, force=False):
    """Write the HTML report of one run or several (run folders, checkpoints or run names
    under checkpoints/) as `charlm report` does; returns the page's path."""
    names = [runs] if isinstance(runs, (str, Path)) else list(runs)
    return making.report(names, out, force)
