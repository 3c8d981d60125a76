"""charlm: character-level language models in plain NumPy, every backward pass by hand.

The public API (docs/api.md):
    charlm.load(path) -> Model           a checkpoint or run folder
    charlm.train(config, ...) -> Model   the run `charlm train` makes
    Model.sample / generate / fill / evaluate / forward / export
    Model.neurons / gates / score / saliency / gradflow     looking inside the model
    charlm.gradflow(cells, ...)          gradient flow through fresh models
    charlm.gradcheck(...)                every gradient against finite differences
    charlm.report(runs, out=None) -> Path  a run's (or runs') HTML report
    charlm.runs(directory) / import_weights(path, out) / make_corpus(kind, ...)
    charlm.sweep(space_file, ...) / sweep_results(study)   settings searched by Optuna
    charlm.Config                        the configuration's dataclasses
    charlm.CharlmError                   every refusal, as a one-line message

Importing charlm loads none of it: each name is imported when it is first used (PEP 562), so
`import charlm.nn` is the engine and NumPy alone, and `python -m charlm` guards a Ctrl-C from
its first instant.
"""

import importlib

__version__ = "0.1.0"

_WHERE = {
    "CharlmError": "charlm.errors",
    "Config": "charlm.run.config",
    "Model": "charlm.api",
    "load": "charlm.api",
    "train": "charlm.api",
    "report": "charlm.api",
    "gradcheck": "charlm.api",
    "gradflow": "charlm.api",
    "runs": "charlm.api",
    "import_weights": "charlm.api",
    "make_corpus": "charlm.api",
    "sweep": "charlm.api.sweep",
    "sweep_results": "charlm.api.sweep",
    "serve": "charlm.api.serve",
}
__all__ = [*_WHERE, "__version__"]


def __getattr__(name):
    if name not in _WHERE:
        raise AttributeError(f"module 'charlm' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value  # once: later lookups find it directly
    return value


def __dir__():
    return sorted([*globals(), *_WHERE])
