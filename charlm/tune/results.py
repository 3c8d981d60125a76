"""What a sweep found: its trials as rows, the best trial's config as a ready file
(best.yaml), and Optuna's parameter importances."""

import math
from pathlib import Path

import yaml

from charlm import files
from charlm.nn.head import LN2
from charlm.run import config

BEST = "best.yaml"
STATES = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed", "RUNNING": "running",
          "WAITING": "waiting"}  # fmt: skip
MIN_FOR_IMPORTANCE = 4  # complete trials before importances mean anything


def row(trial):
    """One trial as {number, state, loss, bpc, params, run, steps, seconds, note}: loss is
    the best validation loss of a complete trial, the last one reported by a pruned one."""
    state = STATES.get(trial.state.name, trial.state.name.lower())
    loss, note = trial.value, ""
    if state == "pruned" and trial.intermediate_values:
        loss = trial.intermediate_values[max(trial.intermediate_values)]
        step = trial.user_attrs.get("pruned_step", max(trial.intermediate_values))
        note = f"pruned at step {step:,}"
    elif state == "failed":
        note = trial.user_attrs.get("error", "failed")
    seconds = trial.duration.total_seconds() if trial.duration else None
    return {
        "number": trial.number, "state": state, "loss": loss,
        "bpc": None if loss is None else loss / LN2, "params": dict(trial.params),
        "run": trial.user_attrs.get("run"), "steps": trial.user_attrs.get("steps"),
        "seconds": seconds, "note": note,
    }  # fmt: skip


def rows(study):
    """Every trial's row: the complete ones by loss, then the pruned by their last loss, then
    the rest by number."""
    order = {"complete": 0, "pruned": 1}
    found = [row(t) for t in study.get_trials(deepcopy=False)]
    return sorted(found, key=lambda r: (order.get(r["state"], 2),
                                        r["loss"] if r["loss"] is not None else math.inf,
                                        r["number"]))  # fmt: skip


def best(study):
    """The best complete trial whose config is known (charlm's trials record it), or None."""
    done = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    done = [t for t in done if isinstance(t.user_attrs.get("config"), dict)]
    return min(done, key=lambda t: (t.value, t.number)) if done else None


def write_best(study, folder):
    """folder/best.yaml: the best trial's whole config (as it trained), named to train as a
    run of its own; None while no trial is complete."""
    trial = best(study)
    if trial is None:
        return None
    raw = config.to_dict(config.from_dict(trial.user_attrs["config"], f"trial {trial.number}"))
    raw["output"] = {"run": f"{study.study_name}-best", "dir": "checkpoints"}
    head = (f"# charlm sweep {study.study_name}: trial {trial.number}, best validation loss "
            f"{trial.value:.4f} ({trial.value / LN2:.3f} bpc), from {trial.user_attrs.get('run')}\n"
            f"# charlm train --config {Path(folder) / BEST}\n")  # fmt: skip
    text = head + yaml.safe_dump(raw, sort_keys=False, default_flow_style=False)
    return files.write(Path(folder) / BEST, lambda f: f.write(text.encode()), "sweep result",
                       force=True)  # fmt: skip


def importances(study):
    """{key: share} from Optuna's default evaluator once MIN_FOR_IMPORTANCE trials are
    complete and a parameter varied; {} before."""
    import warnings

    import optuna

    done = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    if len(done) < MIN_FOR_IMPORTANCE:
        return {}
    try:
        with warnings.catch_warnings():  # "importances will be equal": the shares say so
            warnings.simplefilter("ignore")
            return dict(optuna.importance.get_param_importances(study))
    except (ValueError, RuntimeError):  # every trial drew the same values
        return {}
