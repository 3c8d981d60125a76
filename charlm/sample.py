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


def pick(logits, rng, temperature=1.0, top_k=None, greedy=False, top_p=1.0):
    """One id drawn from logits (V,): pick_rows for a single row."""
    u = np.array([0.0 if greedy else rng.random()])
    rows = Settings.of(1, temperature, top_k, top_p, greedy)
    return int(pick_rows(logits[None], u, rows)[0])


class Settings:
    """Per-row sampling settings, arrays of B: temperature, top_k (0: all), top_p (1: all),
    greedy."""

    def __init__(self, temperature, top_k, top_p, greedy):
        self.temperature, self.top_k, self.top_p, self.greedy = temperature, top_k, top_p, greedy
        # which steps pick_rows needs at all, decided once (a step is 20 us for a small model)
        self.any_k, self.any_p, self.any_greedy = top_k.any(), (top_p < 1).any(), greedy.any()
        self.divisor = temperature[:, None]

    @classmethod
    def of(cls, B, temperature=1.0, top_k=None, top_p=1.0, greedy=False):
        """The same settings for B rows."""
        full = np.full
        return cls(full(B, float(temperature)), full(B, top_k or 0, dtype=np.int64),
                   full(B, float(top_p)), full(B, bool(greedy)))  # fmt: skip


def pick_rows(logits, u, rows):
    """One id per row of logits (B, V), each row by its own settings (rows: Settings) and its
    own uniform draw u (B,) in [0, 1):
        z = logits / temperature; outside the top_k largest z: -inf
        p = exp(z - max z); outside the smallest set of the likeliest holding top_p of the
        mass: 0 (the likeliest is always kept)
        id = the first i with cumsum(p)_i > u * sum(p)             (greedy: argmax logits)
    Every operation is row by row, so a row's id depends only on its own logits, settings and
    draw, never on the rows beside it (a server's batch; tests/test_serve_batch.py)."""
    B, V = logits.shape
    z = logits.astype(np.float64)
    z /= rows.divisor
    k = np.where((rows.top_k > 0) & (rows.top_k < V), rows.top_k, V) if rows.any_k else None
    if k is not None and (k < V).any():
        kth = np.take_along_axis(np.sort(z, axis=1), (V - k)[:, None], axis=1)
        z = np.where(z >= kth, z, -np.inf)
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z, out=z)
    if rows.any_p:
        order = np.argsort(-p, axis=1, kind="stable")
        sorted_p = np.take_along_axis(p, order, axis=1)
        before = np.cumsum(sorted_p, axis=1) - sorted_p  # the mass of the likelier ones
        keep = before < rows.top_p[:, None] * sorted_p.sum(axis=1, keepdims=True)
        mask = np.empty_like(keep)
        np.put_along_axis(mask, order, keep, axis=1)
        p = np.where(mask, p, 0.0)
    cdf = np.cumsum(p, axis=1)
    if B == 1:  # the count of cdf <= u * total, which for one row searchsorted finds faster
        ids = np.minimum(np.searchsorted(cdf[0], u * cdf[0, -1], side="right"), V - 1)
    else:
        ids = np.minimum((cdf <= (u * cdf[:, -1])[:, None]).sum(axis=1), V - 1)
    if rows.any_greedy:
        ids = np.where(rows.greedy, np.argmax(logits, axis=1), ids)
    return ids


MIN_ROWS = 2


def prepared(params):
    """params for step(): every weight matrix stored transposed, the same numbers (a view
    gives back PyTorch's shape). A step's products x W^T then read W^T row by row, which BLAS
    does several times faster for a few rows than through a transposed view (2 x 256 by
    256 x 1024: 45 us against 305 us on one core here)."""
    return {k: np.ascontiguousarray(v.T).T if v.ndim == 2 and not k.startswith("embedding")
            else v for k, v in params.items()}  # fmt: skip


def step(params, spec, ids, state):
    """One character for each of B streams: params from prepared(), ids (B,), state from
    init_state(spec, B) or the last step. Returns (logits (B, V), state).

    With one row, NumPy's matmul calls BLAS's matrix-vector product, whose sums run in another
    order than the matrix product's, so the same stream would get other last bits alone than
    beside others. Stepping at least MIN_ROWS rows (a lone stream beside a copy of itself)
    keeps every row's numbers the same whatever steps beside it: charlm sample and a server's
    batch give one seed the same text (tests/test_serve_batch.py checks it)."""
    B = len(ids)
    if B < MIN_ROWS:
        ids = np.resize(ids, MIN_ROWS)
        state = tuple(np.concatenate([s] * MIN_ROWS, axis=1)[:, :MIN_ROWS] for s in state)
    logits, stateT, _ = forward(params, spec, np.asarray(ids, dtype=np.int64)[None], state)
    return logits[0, :B], tuple(s[:, :B] for s in stateT)


SHORT_PRIME = 64  # a prime up to this long is read a character a step, as a server batch does


def read_prime(params, stepping, spec, prime):
    """(logits (1, V) after prime, its state in MIN_ROWS rows) for prime (n,) ids, n >= 1.

    Up to SHORT_PRIME characters, one step() each, as a server reads a short prompt inside its
    batch; longer, read at once (nn.infer.read, a chunk at a time: a 1 MB prime costs no more
    memory), as a server reads a long prompt before it joins the batch. The same rule in both
    places keeps a stream's numbers charlm sample's."""
    prime = np.asarray(prime, dtype=np.int64)
    dtype = params["head.weight"].dtype
    state = init_state(spec, MIN_ROWS if len(prime) <= SHORT_PRIME else 1, dtype)
    if len(prime) > SHORT_PRIME:
        last, state = read(params, spec, prime[:, None], state)
        return last, tuple(np.repeat(s, MIN_ROWS, axis=1) for s in state)
    for i in prime:
        logits, state = step(stepping, spec, np.full(MIN_ROWS, i), state)
    return logits[:1], state


def generate(params, spec, prime, length, rng, temperature=1.0, top_k=None, greedy=False,
             top_p=1.0):  # fmt: skip
    """Yield `length` ids that follow prime ((n,) ids, n >= 1) from a unidirectional model."""
    rows, stepping = Settings.of(1, temperature, top_k, top_p, greedy), prepared(params)
    last, state = read_prime(params, stepping, spec, prime)
    for n in range(length):
        u = np.array([0.0 if greedy else rng.random()])
        i = int(pick_rows(last, u, rows)[0])
        yield i
        if n + 1 < length:
            logits, state = step(stepping, spec, np.full(MIN_ROWS, i), state)
            last = logits[:1]


def fill(params, spec, ids, blanks, rng, temperature=1.0, top_k=None, greedy=False, sweeps=4,
         top_p=1.0):  # fmt: skip
    """ids (n,) with the positions in `blanks` to fill from a bidirectional model.

    Returns the filled ids. The first sweep goes left to right, later ones in random order."""
    x = np.array(ids, dtype=np.int64)
    blanks = list(blanks)
    for sweep in range(sweeps):
        order = blanks if sweep == 0 else rng.permutation(blanks)
        for t in order:
            logits, _ = infer(params, spec, x[:, None])
            x[t] = pick(logits[t, 0], rng, temperature, top_k, greedy, top_p)
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
