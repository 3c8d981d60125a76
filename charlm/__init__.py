"""charlm: character-level language models in plain NumPy, every backward pass by hand.

The public API (docs/api.md):
    charlm.load(path) -> Model           a checkpoint or run folder
    charlm.train(config, ...) -> Model   the run `charlm train` makes
    Model.sample / generate / fill / evaluate / forward / export
    charlm.report(runs, out=None) -> Path  a run's (or runs') HTML report
    charlm.Config                        the configuration's dataclasses
    charlm.CharlmError                   every refusal, as a one-line message
"""

__version__ = "0.1.0"

from charlm.api import Model, load, report, train  # noqa: E402
from charlm.errors import CharlmError  # noqa: E402
from charlm.run.config import Config  # noqa: E402

__all__ = ["CharlmError", "Config", "Model", "load", "report", "train", "__version__"]
