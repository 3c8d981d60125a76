"""The training loop, as min-char-rnn's: read a window, take a step, now and then look.

    while step < total:
        x, y        = window w of the B streams            (state from zeros at w = 0)
        loss, norm  = step(params, x, y)      forward, backward, clip, optimiser update
        log         the smoothed loss, the display, metrics.jsonl
        plan        a time budget fixes its step count once the warm-up has measured the pace
        evaluate    every eval_every steps: the validation loss; best.npz when the lowest
        sample      every sample_every steps: a short sample
        save        every checkpoint_every steps (and at the end): latest.npz
Each of those is a method of Session, which holds what a run changes as it goes (the
checkpoint, the carried state, the optimiser, the random stream, metrics.jsonl), so each can
be called and tested alone. The arithmetic of a step is charlm.run.train.step.
"""

import math
import time

import numpy as np

from charlm import memory, sample
from charlm.nn import head
from charlm.nn.model import init_state
from charlm.run import checkpoint, machine
from charlm.run import train as training
from charlm.run.budget import Budget
from charlm.run.metrics import METRICS, Metrics, Reporter
from charlm.run.optim import planned_rate

SMOOTHING = 0.98  # of the displayed training loss, per step (an average over ~50 steps)
CLOCK = time.perf_counter  # what measures the training time, unless run() is given a clock


def run(start, reporter=None, should_stop=lambda: False, sinks=(), clock=None):
    """Train start.ck (a charlm.run.launch.Launch's checkpoint, fresh or resumed) in place to
    start.total steps, saving into start.run_dir. should_stop(): asked before every step (a
    checkpoint is saved first); sinks: what else gets the metrics records (Metrics); clock:
    the timer of the training time. Returns (how it ended: "done", "stopped" or "time", the
    time budget spent before the planned steps; the step count, planned by then)."""
    memory.keep_freed_memory()
    s = Session(start, reporter or Reporter(), sinks, clock or CLOCK)
    ck = s.ck
    try:
        while ck.step < s.total:
            if should_stop():
                s.save(checkpoint.LATEST)
                return "stopped", s.total
            loss, norm, seconds = s.step()
            s.log(loss, norm, seconds)
            s.plan()
            last = ck.step == s.total or s.out_of_time()
            t = ck.config.train
            if ck.step % t.eval_every == 0 or last:
                s.evaluate()
            if ck.step % t.sample_every == 0 or last:
                s.sample()
            if ck.step % t.checkpoint_every == 0 or last:
                s.save(checkpoint.LATEST)
            if s.out_of_time():
                return "time", s.total
    finally:
        s.metrics.close()
    return "done", s.total


class Session:
    """One session of a run: what the loop changes as it goes, and a method per concern."""

    def __init__(self, start, reporter, sinks=(), clock=time.perf_counter):
        ck, corpus = start.ck, start.corpus
        self.ck, self.corpus, self.run_dir = ck, corpus, start.run_dir
        self.reporter, self.clock, self.total = reporter, clock, start.total
        t = ck.config.train
        self.budget = Budget(t, ck)
        self.opt = training.make_optimizer(ck.config)
        self.opt.state = ck.optim
        self.rng = np.random.default_rng()
        self.rng.bit_generator.state = ck.rng
        self.state = ck.state
        self.chars = t.batch_size * t.seq_len  # characters a step reads
        ck.corpus = corpus.identity
        self.metrics = Metrics(self.run_dir / METRICS, resume_step=ck.step,
                               source=start.metrics_from, sinks=sinks)  # fmt: skip
        self.metrics.write(kind="start", step=ck.step, total=self.total, **machine.describe())
        reporter.started(ck, self.total, corpus)

    def step(self):
        """One training step on the next window. Returns (loss, gradient norm, seconds)."""
        ck, t = self.ck, self.ck.config.train
        tic = self.clock()
        if ck.window == 0 and not ck.spec.bidirectional:  # a new epoch starts from zeros
            self.state = init_state(ck.spec, t.batch_size, ck.params["head.weight"].dtype)
        self.opt.lr = planned_rate(t, ck.step + 1, ck.schedule)
        window = self.corpus.batches.window(ck.window)
        dropout = self.rng if ck.spec.dropout > 0 else None
        try:
            loss, norm, self.state = training.step(ck, window, self.state, self.opt, dropout)
        except training.Diverged as e:  # say so where `charlm runs` will look
            self.metrics.write(kind="diverged", step=ck.step + 1, error=str(e).split(";")[0])
            raise
        advance(ck, loss, self.corpus.batches.windows)
        seconds = self.clock() - tic
        ck.elapsed += seconds
        return loss, norm, seconds

    def log(self, loss, norm, seconds):
        """The step's figures to the display and, every log_every steps, metrics.jsonl."""
        ck, speed = self.ck, self.chars / seconds
        self.reporter.stepped(ck, self.total, loss, norm, speed)
        if ck.step % ck.config.train.log_every == 0:
            self.metrics.write(kind="train", step=ck.step, epoch=round(ck.epoch, 6), loss=loss,
                               smooth_loss=ck.smooth_loss, bpc=loss / head.LN2, grad_norm=norm,
                               lr=self.opt.lr, chars_per_s=speed, elapsed=ck.elapsed)  # fmt: skip

    def plan(self):
        """A time budget's warm-up is over: fix the step count (charlm.run.budget) and save,
        so that a resume continues the plan exactly."""
        if not self.budget.due(self.ck):
            return
        self.total, rate = self.budget.fix(self.ck)
        self.metrics.write(kind="plan", step=self.ck.step, total=self.total, steps_per_s=rate,
                           seconds=self.budget.limit)  # fmt: skip
        self.reporter.planned(self.ck, self.total, rate)
        self.save(checkpoint.LATEST)

    def out_of_time(self):
        return self.budget.spent(self.ck) and self.ck.step < self.total

    def evaluate(self):
        """The validation loss; best.npz when it is the lowest so far."""
        ck = self.ck
        val, _ = training.evaluate(ck.params, ck.spec, self.corpus.val,
                                   seq_len=ck.config.train.seq_len)  # fmt: skip
        best = val < ck.best_val
        if best:
            ck.best_val = val
        self.metrics.write(kind="val", step=ck.step, loss=val, bpc=val / head.LN2, best=best,
                           elapsed=ck.elapsed)  # fmt: skip
        self.reporter.evaluated(ck, val, best)
        if best:
            self.save(checkpoint.BEST)

    def sample(self):
        text = sample.during_training(self.ck, self.corpus.val, self.ck.config.train.seed)
        self.metrics.write(kind="sample", step=self.ck.step, text=text)
        self.reporter.sampled(self.ck, text)

    def save(self, name):
        """The run as it is now, state and random stream included, to run_dir/name."""
        ck = self.ck
        ck.rng, ck.state = self.rng.bit_generator.state, self.state
        path = self.run_dir / name
        checkpoint.save(path, ck, owned=True)
        self.reporter.saved(ck, path)


def advance(ck, loss, windows):
    """Count a step done: the step, the next window (an epoch is `windows` of them), the
    epochs, and the smoothed loss (a plain mean over the first 50 steps, then exponential)."""
    ck.step += 1
    ck.window = (ck.window + 1) % windows
    ck.epoch = ck.step / windows
    a = min(SMOOTHING, 1 - 1 / ck.step)
    s = ck.smooth_loss
    ck.smooth_loss = loss if math.isnan(s) else a * s + (1 - a) * loss
