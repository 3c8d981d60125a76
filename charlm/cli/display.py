"""What `charlm train` shows: a live progress line, validation and sample lines, a summary."""

import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn
from rich.table import Column, Table

from charlm.nn import head
from charlm.run.budget import is_planned
from charlm.run.metrics import Reporter, clock
from charlm.run.optim import describe_schedule, planned_rate

RATE_SMOOTHING = 0.9


class TrainDisplay(Reporter):
    """A rich progress line: step, epoch, smoothed loss, bpc, gradient norm, chars/s, ETA."""

    def __init__(self, console: Console):
        self.console, self.run_dir = console, None  # the run's folder, known when it starts
        self.progress = Progress(
            # step, bar and percent stay on one line; on a narrow terminal the figures fold
            TextColumn(
                "step {task.completed:>6.0f}/{task.total:.0f}", table_column=Column(no_wrap=True)
            ),
            BarColumn(bar_width=20),
            TaskProgressColumn(table_column=Column(no_wrap=True)),
            TextColumn("{task.fields[figures]}", table_column=Column(ratio=1)),
            console=console,
            disable=not console.is_terminal,  # a log file gets the validation lines instead
        )
        self.task = None
        self.rate = None  # chars/s, smoothed
        self.started_at = time.perf_counter()
        self.first_step = 0
        self.val_bpc = None

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()

    def started(self, ck, total, corpus):
        spec, t = ck.spec, ck.config.train
        self.run_dir = Path(ck.config.output.dir, ck.config.output.run)
        n_params = sum(p.size for p in ck.params.values())
        train_n, val_n = len(corpus.batches.ids), len(corpus.val)
        verb = f"resuming at step {ck.step:,}" if ck.step else "training"
        if t.minutes is not None and not is_planned(total):  # the steps are planned later
            length = f"{t.minutes:g} minutes of training (the steps planned after a warm-up)"
        else:
            length = f"{total:,} steps ({total / corpus.batches.windows:.2f} epochs)"
        self.console.print(
            f"[bold]{verb}[/] {spec.describe()}, hidden {spec.hidden_size}, "
            f"{n_params:,} parameters, on {escape(str(corpus.path))} "
            f"({train_n:,} train / {val_n:,} val characters, {len(ck.vocab)} symbols); "
            f"batch {t.batch_size} x {t.seq_len}, {t.optimizer} lr {describe_schedule(t)}, "
            f"{length} -> "
            f"{escape(str(self.run_dir))}"
        )
        self.first_step = ck.step
        shown = total if is_planned(total) else None  # an unknown total: no bar yet
        self.task = self.progress.add_task("train", total=shown, completed=ck.step, figures="")

    def stepped(self, ck, total, loss, grad_norm, chars_per_s):
        r, a = self.rate, RATE_SMOOTHING
        self.rate = chars_per_s if r is None else a * r + (1 - a) * chars_per_s
        t = ck.config.train
        if t.minutes is not None:  # a time budget: what is left of it
            left = f"left {clock(max(0.0, t.minutes * 60 - ck.elapsed))}"
        else:
            left = f"ETA {clock((total - ck.step) * t.batch_size * t.seq_len / self.rate)}"
        figures = (
            f"epoch {ck.epoch:.2f}  loss {ck.smooth_loss:.3f}  "
            f"{ck.smooth_loss / head.LN2:.3f} bpc  |g| {grad_norm:.2f}  "
            f"{self.rate:,.0f} char/s  {left}"
        )
        if t.lr_schedule != "constant" or ck.step <= t.warmup_steps:
            figures += f"  lr {planned_rate(t, ck.step, ck.schedule):.2e}"
        if self.val_bpc is not None:
            figures += f"  val {self.val_bpc:.3f} bpc"
        shown = total if is_planned(total) else None
        self.progress.update(self.task, total=shown, completed=ck.step, figures=figures)

    def planned(self, ck, total, steps_per_s):
        t = ck.config.train
        self.progress.console.print(
            f"planned: {total:,} steps fit in {t.minutes:g} minutes of training "
            f"({steps_per_s:.1f} steps/s over the first {ck.step:,}); lr {describe_schedule(t)}"
        )

    def evaluated(self, ck, loss, best):
        self.val_bpc = loss / head.LN2
        mark = "  [green]best[/]" if best else ""
        self.progress.console.print(
            f"step {ck.step:>6,}  val loss {loss:.4f}  {loss / head.LN2:.3f} bpc  "
            f"(train {ck.smooth_loss:.4f}){mark}"
        )

    def sampled(self, ck, text):
        self.progress.console.print(
            Panel(escape(text), title=f"sample, step {ck.step:,}", title_align="left", expand=False)
        )

    def note(self, text):
        self.progress.console.print(escape(text))

    def saved(self, ck, path):
        self.progress.console.print(f"[dim]saved {escape(str(path))} (step {ck.step:,})[/]")

    def summary(self, ck, outcome, total):
        table = Table(title=f"run {ck.config.output.run}: {outcome}", show_header=False)
        table.add_column(style="bold")
        table.add_column()
        best, smooth = ck.best_val, ck.smooth_loss
        session = time.perf_counter() - self.started_at
        of = f" of {total:,}" if is_planned(total) else ""  # no plan: spent in the warm-up
        table.add_row("steps", f"{ck.step:,}{of} ({ck.epoch:.2f} epochs)")
        t = ck.config.train
        if t.minutes is not None:
            table.add_row("time budget", f"{t.minutes:g} minutes: {ck.step:,} steps fitted")
        table.add_row("train loss (smoothed)", f"{smooth:.4f} ({smooth / head.LN2:.3f} bpc)")
        if best != float("inf"):
            table.add_row("best val loss", f"{best:.4f} ({best / head.LN2:.3f} bpc)")
        table.add_row("training time", f"{clock(ck.elapsed)} (this session {clock(session)})")
        table.add_row("checkpoints", escape(str(self.run_dir)) + "/{latest,best}.npz")
        self.console.print(table)
