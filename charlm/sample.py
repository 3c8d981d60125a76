"""Generating text from a trained model.

Unidirectional: read the prime, then repeatedly draw the next character from
    p = softmax(logits / temperature)     (top-k: only the k most likely keep their mass)
and feed it back in, carrying the hidden state (one step of the model per character).

Bidirectional (cloze): logits_t depends on every character but x_t, so it gives
p(x_t | the rest). Blanks are filled left to right, then resampled in a few sweeps, each blank in
turn given the current value of all the others (Gibbs sampling).
"""

import numpy as np

from charlm.errors import ArgumentError, CharlmError, literal
from charlm.nn.infer import infer, read
from charlm.nn.model import forward, init_state


def encode_prime(vocab, prime, skip_unknown=False):
    """The prime's ids; characters outside the vocabulary are an error naming them, or are
    dropped with skip_unknown."""
    try:
        return vocab.encode(prime, skip_unknown)
    except CharlmError as e:
        rule = f"{literal(e)}; pass {{skip_unknown=True}} to drop them"
        raise ArgumentError("prime", ArgumentError.HIDDEN, rule) from None


def start_ids(vocab):
    """What an empty prime starts from: a newline (the start of a paragraph) if the
    vocabulary has one, else its first symbol; it is not printed."""
    newline = vocab.encode("\n", skip_unknown=True)
    return newline if len(newline) else np.zeros(1, dtype=np.int64)


def parse_blanks(vocab, prime, blank="_", skip_unknown=False):
    """(ids, positions of the blanks) of a prime such as 'I am _____ hungry'. Each blank
    holds a space (or symbol 0) until it is filled."""
    space = vocab.encode(" ", skip_unknown=True)
    filler = int(space[0]) if len(space) else 0
    ids, blanks = [], []
    for i, part in enumerate(prime.split(blank)):
        if i:
            blanks.append(len(ids))
            ids.append(filler)
        ids.extend(encode_prime(vocab, part, skip_unknown).tolist())
    return np.array(ids, dtype=np.int64), blanks


def pick(logits, rng, temperature=1.0, top_k=None, greedy=False):
    """One id drawn from logits (V,)."""
    if greedy:
        return int(np.argmax(logits))
    z = logits.astype(np.float64) / temperature
    if top_k is not None and top_k < len(z):
        kth = np.partition(z, -top_k)[-top_k]
        z = np.where(z >= kth, z, -np.inf)
    p = np.exp(z - z.max())
    cdf = np.cumsum(p)
    return int(min(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"), len(z) - 1))


def generate(params, spec, prime, length, rng, temperature=1.0, top_k=None, greedy=False):
    """Yield `length` ids that follow prime ((n,) ids, n >= 1) from a unidirectional model."""
    state = init_state(spec, 1, params["head.weight"].dtype)
    # the prime is read a chunk at a time (nn.infer.read): a long prime costs no more memory
    last, state = read(params, spec, np.asarray(prime, dtype=np.int64)[:, None], state)
    for _ in range(length):
        i = pick(last[0], rng, temperature, top_k, greedy)
        yield i
        logits, state, _ = forward(params, spec, np.array([[i]]), state)
        last = logits[-1]


def fill(params, spec, ids, blanks, rng, temperature=1.0, top_k=None, greedy=False, sweeps=4):
    """ids (n,) with the positions in `blanks` to fill from a bidirectional model.

    Returns the filled ids. The first sweep goes left to right, later ones in random order."""
    x = np.array(ids, dtype=np.int64)
    blanks = list(blanks)
    for sweep in range(sweeps):
        order = blanks if sweep == 0 else rng.permutation(blanks)
        for t in order:
            logits, _ = infer(params, spec, x[:, None])
            x[t] = pick(logits[t, 0], rng, temperature, top_k, greedy)
        if greedy and sweep > 0:
            break
    return x


SAMPLE_CHARS = 200  # what charlm train shows
SAMPLE_TEMPERATURE = 0.8


def during_training(ck, val, seed):
    """The short sample `charlm train` shows (ck: the run's Checkpoint, val: the validation
    ids), from its own generator seeded by the step, so that sampling never changes the
    training run's random numbers. A cloze model fills every sixth character of some
    validation text and counts how many it filled as the text has them."""
    spec, rng = ck.spec, np.random.default_rng([seed, ck.step])
    if not spec.bidirectional:
        prime = val[:1].astype(np.int64)
        ids = generate(ck.params, spec, prime, SAMPLE_CHARS, rng, temperature=SAMPLE_TEMPERATURE)
        return ck.vocab.decode(np.concatenate([prime, np.fromiter(ids, dtype=np.int64)]))
    # a cloze model: blank out every 6th character of some validation text and fill them in
    x = val[: min(SAMPLE_CHARS // 2, len(val))].astype(np.int64)
    blanks = range(3, len(x), 6)
    filled = fill(ck.params, spec, x, blanks, rng, greedy=True)
    right = int((filled[blanks] == x[blanks]).sum())
    return f"{ck.vocab.decode(filled)}\n[{right}/{len(blanks)} blanks filled as in the text]"
