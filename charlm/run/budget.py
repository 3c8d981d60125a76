"""Training for a time budget (train.minutes, `charlm train --minutes M`).

The learning-rate schedule is planned in steps, so a run ends well only if its step count
matches the time it has. With a budget of S seconds of training time (evaluations excluded):
    1. warm-up: the first steps run at the schedule's start (its warmup ramp, then lr) while
       the step rate is measured, for WARMUP_SHARE of the budget (at most WARMUP_SECONDS and
       at least MIN_STEPS steps);
    2. plan: the step count that fits is fixed, N = n + floor(MARGIN (S - elapsed) rate), the
       run becomes an ordinary step-planned run of N steps (optim.plan), saved at once, so a
       resumed run continues the plan exactly;
    3. the budget holds: if the machine slows down, the run stops when S seconds of training
       are spent, wherever the schedule is (the outcome is "time").
"""

import math

from charlm.run.config import MAX_STEPS
from charlm.run.optim import plan

WARMUP_SHARE = 0.2
WARMUP_SECONDS = 60.0
MIN_STEPS = 10
# The plan fills this share of what is left: a machine's first seconds under load run faster
# than its sustained pace (measured: 30.2 steps/s over the first 9 s of a 90 s run, 24.9 on
# average over the whole of it, on the 2-core machine of docs/speed.md).
MARGIN = 0.9
PROVISIONAL = 10**9  # the step count before the plan: the schedule stays at its start


def seconds(t):
    """The budget in seconds of training time, or None."""
    return None if t.minutes is None else t.minutes * 60.0


class Budget:
    """What run() asks of a time budget, after every step."""

    def __init__(self, t, ck):
        self.t, self.limit = t, seconds(t)
        self.start_step, self.start_elapsed = ck.step, ck.elapsed  # this session's start

    def provisional(self):
        """The plan before the step count is known (None: not a time-budgeted run)."""
        return None if self.limit is None else plan(self.t, PROVISIONAL)

    def due(self, ck):
        """Whether the warm-up is over and the plan should be fixed now."""
        if self.limit is None or (ck.schedule and ck.schedule[-1][1] != PROVISIONAL):
            return False
        warm = min(WARMUP_SECONDS, WARMUP_SHARE * self.limit)
        steps = ck.step - self.start_step
        return steps >= MIN_STEPS and ck.elapsed - self.start_elapsed >= warm

    def fix(self, ck):
        """Plan the steps that fit in what is left of the budget; returns the total."""
        rate = (ck.step - self.start_step) / max(ck.elapsed - self.start_elapsed, 1e-9)
        total = ck.step + max(1, math.floor(MARGIN * (self.limit - ck.elapsed) * rate))
        ck.schedule = continued(self.t, ck.step, min(total, MAX_STEPS))
        return ck.schedule[-1][1], rate

    def spent(self, ck):
        """Whether the budget's seconds of training are used up."""
        return self.limit is not None and ck.elapsed >= self.limit


def continued(t, step, total):
    """The plan of a run that trained `step` steps at the provisional plan's rate and now ends
    at `total`: it continues from the rate in use. Within the warm-up ramp that is the plan of
    `total` steps itself; past it, the provisional segment up to `step` and then the schedule
    (cosine from lr to lr_min) over the steps that are left, so the rate never jumps."""
    if step <= t.warmup_steps:
        return plan(t, total)
    return [[0, PROVISIONAL, int(t.warmup_steps)], [int(step), int(total), 0]]


def planned_total(t, schedule, otherwise):
    """A run's step count: a time-budgeted run's plan (PROVISIONAL before it is fixed), or
    otherwise (max_steps or epochs)."""
    if t.minutes is None:
        return otherwise
    return schedule[-1][1] if schedule else PROVISIONAL


def is_planned(total):
    """Whether a step count is known: not None or 0, and not a budget's PROVISIONAL one."""
    return bool(total) and total < PROVISIONAL
