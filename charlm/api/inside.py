"""Looking inside a trained model, for Model (charlm.api.model): what single units track
(neurons), how often its gates saturate (gates), how surprised it is by each character
(score), which characters a prediction read (saliency) and how its gradient flows back in
time (gradflow). Each is what the command of the same name computes; the command prints it."""

from charlm.api import checks
from charlm.errors import ArgumentError, CharlmError, literal
from charlm.inspect import gradflow as flow_mod
from charlm.inspect import saliency as saliency_mod
from charlm.inspect import score as score_mod
from charlm.inspect import units
from charlm.run import train as training

DEFAULT_CHARS = 10_000  # of the validation split, when no text is given


class Inside:
    """The inspection methods of Model (which provides checkpoint, params, spec, vocab)."""

    def neurons(self, text=None, *, find=(), unit=None, state="h", top=5, skip_unknown=False):
        """units.Neurons over text (None: the first 10,000 characters of the run's validation
        split): the `top` units whose state ("h", or an LSTM's "c") correlates best with each
        feature of `find` (features.NAMES, or "regex:PATTERN"; one str is one feature), against
        a fresh model of the same shape; with neither find nor unit, every named feature."""
        checks.choice("state", state, ("h", "c"))
        checks.integer("top", top, 1, 10**4)
        find = checks.texts("find", find)
        checks.text("unit", unit, optional=True)
        ids, chars = self._read(text, skip_unknown, factor=3)
        seed = self.config.train.seed
        return units.neurons(self.params, self.spec, ids, chars, seed, find, unit, state, top)

    def gates(self, text=None, *, skip_unknown=False):
        """units.Gates: each gate unit's fraction of characters below 0.1 and above 0.9, per
        layer and gate, over text (None: as neurons)."""
        if self.spec.cell == "rnn":
            raise CharlmError("a vanilla RNN has no gates; gates() reads an LSTM or a GRU")
        ids, _ = self._read(text, skip_unknown)
        return units.Gates(len(ids), units.saturation(units.record(self.params, self.spec, ids)))

    def score(self, text=None, *, skip_unknown=False):
        """score.Score: each character's surprisal -log2 p(x_t | x_<t) in bits, with the
        model's top 5 at each position, over text (None: as neurons)."""
        ids, _ = self._read(text, skip_unknown)
        if len(ids) < 2 and not self.spec.bidirectional:
            raise ArgumentError(
                "text",
                ArgumentError.HIDDEN,
                "has one character: nothing to predict it from (give two)",
            )
        return score_mod.score(self.params, self.spec, self.vocab, ids)

    def saliency(self, text, *, at=None, target=None, skip_unknown=False):
        """saliency.Saliency: ||dL/dv_t|| for each input character t of the prediction of
        character `at` of text (None: the one after it; a bidirectional model: the middle
        one), of its own character or of `target`."""
        checks.text("text", text)
        checks.integer("at", at, -checks.CHARS, checks.CHARS, optional=True)
        checks.text("target", target, optional=True)
        if not text:
            raise ArgumentError(
                "text",
                ArgumentError.HIDDEN,
                'the text is empty: give the text to explain, e.g. "To be, or not to b"',
            )
        ids = checks.encode(self.vocab, text, checks.flag("skip_unknown", skip_unknown), "text")
        one_hot = 0 if self.spec.embedding_size else 2 * len(ids) * len(self.vocab) * 8
        self._check_reading(len(ids), "text", itemsize=8, extra=one_hot, backward=True)
        target_id = None
        if target is not None:
            found = checks.encode(self.vocab, target, False, "target")
            if len(found) != 1:
                raise ArgumentError("target", target, "must be a single character")
            target_id = int(found[0])
        return saliency_mod.saliency(self.params, self.spec, self.vocab, ids, at, target_id)

    def gradflow(self, text=None, *, length=100, skip_unknown=False):
        """gradflow.Flow: ||dL_T/dh_t|| of the last prediction over the first length+1
        characters of text (None: gradflow's own paragraph), at every step t and layer."""
        checks.integer("length", length, 1, 10**6)
        text = flow_mod.TEXT if text is None else checks.text("text", text)
        ids = enough(checks.encode(self.vocab, text, skip_unknown, "text"), length)
        self._check_reading(length + 1, "length", itemsize=8, backward=True)
        name = f"{self.path} ({self.spec.describe()})"
        return flow_mod.flow(self.params, self.spec, ids[: length + 1], name)

    def _read(self, text, skip_unknown, factor=1):
        """(ids, symbols) of text, or with None the first DEFAULT_CHARS characters of the
        run's validation split; refused if empty or too large to read."""
        checks.text("text", text, optional=True)
        checks.flag("skip_unknown", skip_unknown)
        if text is not None and not text:
            raise ArgumentError(
                "text", ArgumentError.HIDDEN, "the text is empty: give the text to read"
            )
        ids = (
            self._validation()
            if text is None
            else checks.encode(self.vocab, text, skip_unknown, "text")
        )
        if len(ids) == 0:
            raise ArgumentError(
                "text",
                ArgumentError.HIDDEN,
                "the text is empty once the unknown characters are dropped",
            )
        self._check_reading(len(ids), "text", factor=factor)
        return ids, [self.vocab.symbol(int(i)) for i in ids]

    def _validation(self):
        """The first DEFAULT_CHARS characters of the run's validation split."""
        ck = self.checkpoint
        try:
            found = training.load_corpus(ck.config, ck.vocab, identity=ck.corpus)
        except CharlmError as e:
            reason = str(e).split(";")[0]
            raise ArgumentError(
                "text",
                ArgumentError.HIDDEN,
                f"no text given, and the run's validation split cannot be read "
                f"({literal(reason)}); give the text",
            ) from None
        return found.val[:DEFAULT_CHARS]


def enough(ids, length):
    """ids, refused when shorter than length + 1 (gradflow reads T inputs and a target)."""
    if len(ids) < length + 1:
        raise ArgumentError(
            "length",
            length,
            f"needs {length + 1} characters and the text has {len(ids)}; give a longer text "
            f"or a smaller {{length}}",
        )
    return ids
