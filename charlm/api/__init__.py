"""charlm's public Python API: what the command line does, for a notebook or a script.

    import charlm
    model = charlm.train(corpus="my.txt", steps=200, run="mine")    # a Model
    model = charlm.load("checkpoints/mine")                         # the same, from disk
    model.sample("ROMEO:", length=200, seed=1)                      # text, as `charlm sample`
    model.evaluate()                                                 # {"loss", "bpc", "chars"}
    out = model.forward("To be")                                     # logits and hidden states
    model.neurons(find="line-position")                              # as `charlm neurons`

Every refusal is a charlm.CharlmError with a one-line message; a refused argument is a
charlm.errors.ArgumentError naming the parameter. The CLI (charlm.cli) is a layer over these
functions: it parses, calls and prints.
    model.py     Model: sample, generate, fill, evaluate, forward, export; load
    inside.py    Model's neurons, gates, score, saliency, gradflow
    training.py  train
    tools.py     gradcheck, gradflow over fresh models, report
    files.py     runs, import_weights, make_corpus
    checks.py    the argument checks
"""

from charlm.api.files import import_weights, make_corpus, runs
from charlm.api.model import Model, check_sampling, checkpoint_path, load
from charlm.api.tools import gradcheck, gradflow, report
from charlm.api.training import train

__all__ = ["Model", "check_sampling", "checkpoint_path", "gradcheck", "gradflow",
           "import_weights", "load", "make_corpus", "report", "runs", "train"]  # fmt: skip
