"""The same weights in charlm and torch.nn give the same numbers: outputs, final states,
loss, and every gradient (1e-5 in float32, 1e-10 in float64). Skipped without torch."""

import numpy as np
import pytest

from charlm.nn import head, model
from charlm.run.optim import Optimizer, clip_gradients

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

TOL = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-10)}
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}
MODULES = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
T, B, V, E, H = 7, 3, 11, 5, 6


def torch_stack(spec, params, suffix, dtype):
    """A torch.nn recurrent module holding charlm's weights of one direction's stack."""
    d_in = spec.embedding_size or spec.vocab_size
    m = MODULES[spec.cell](d_in, spec.hidden_size, spec.num_layers).to(TORCH_DTYPE[dtype])
    with torch.no_grad():
        for name, p in m.named_parameters():
            p.copy_(torch.from_numpy(params[name + suffix]))
    return m


def check_close(mine, theirs, dtype, what):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else theirs
    np.testing.assert_allclose(mine, theirs, **TOL[dtype], err_msg=what)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_unidirectional_model_matches_torch(cell, layers, dtype):
    spec = model.ModelSpec(cell, V, H, layers, embedding_size=E if layers == 2 else None)
    rng = np.random.default_rng(0)
    params = model.init_params(spec, rng, dtype)
    x = rng.integers(0, V, (T, B))
    y = rng.integers(0, V, (T, B))
    state0 = tuple(
        (0.5 * rng.standard_normal(s.shape)).astype(dtype) for s in model.init_state(spec, B)
    )

    logits, stateT, cache = model.forward(params, spec, x, state0)
    loss, dlogits = head.cross_entropy(logits, y)
    grads, dstate0 = model.backward(params, spec, cache, dlogits)

    rnn = torch_stack(spec, params, "", dtype)
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items() if "." in k}
    ts0 = [torch.tensor(s, requires_grad=True) for s in state0]
    xt = torch.from_numpy(x)
    inp = (
        tp["embedding.weight"][xt]
        if spec.embedding_size
        else torch.nn.functional.one_hot(xt, V).to(TORCH_DTYPE[dtype])
    )
    out, tstate = rnn(inp, tuple(ts0) if cell == "lstm" else ts0[0])
    tlogits = out @ tp["head.weight"].T + tp["head.bias"]
    tloss = torch.nn.functional.cross_entropy(
        tlogits.reshape(-1, V), torch.from_numpy(y).reshape(-1)
    )
    tloss.backward()

    check_close(logits, tlogits, dtype, "logits")
    assert abs(loss - tloss.item()) < TOL[dtype]["atol"]
    tstate = tstate if cell == "lstm" else (tstate,)
    for k in range(len(state0)):
        check_close(stateT[k], tstate[k], dtype, f"final state {k}")
        check_close(dstate0[k], ts0[k].grad, dtype, f"initial state gradient {k}")
    for name, p in rnn.named_parameters():
        check_close(grads[name], p.grad, dtype, name)
    for name, p in tp.items():
        check_close(grads[name], p.grad, dtype, name)


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_bidirectional_model_is_two_torch_stacks(cell, layers):
    """The cloze model equals a forward torch stack and a backward torch stack run on the
    reversed sequence, joined at the head as [hf_{t-1}, hb_{t+1}]."""
    dtype = np.float64
    spec = model.ModelSpec(cell, V, H, layers, bidirectional=True, embedding_size=E)
    rng = np.random.default_rng(1)
    params = model.init_params(spec, rng, dtype)
    x = rng.integers(0, V, (T, B))
    loss, grads, _ = model.loss_and_grads(params, spec, x, x)

    fwd, bwd = torch_stack(spec, params, "", dtype), torch_stack(spec, params, "_reverse", dtype)
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items() if "." in k}
    inp = tp["embedding.weight"][torch.from_numpy(x)]
    hf, _ = fwd(inp)
    hb, _ = bwd(inp.flip(0))
    hb = hb.flip(0)
    zero = torch.zeros(1, B, H, dtype=torch.float64)
    feat = torch.cat([torch.cat([zero, hf[:-1]]), torch.cat([hb[1:], zero])], dim=-1)
    tlogits = feat @ tp["head.weight"].T + tp["head.bias"]
    tloss = torch.nn.functional.cross_entropy(
        tlogits.reshape(-1, V), torch.from_numpy(x).reshape(-1)
    )
    tloss.backward()

    assert abs(loss - tloss.item()) < 1e-10
    for m, suffix in ((fwd, ""), (bwd, "_reverse")):
        for name, p in m.named_parameters():
            check_close(grads[name + suffix], p.grad, dtype, name + suffix)
    for name, p in tp.items():
        check_close(grads[name], p.grad, dtype, name)


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_optimisers_match_torch(name):
    rng = np.random.default_rng(0)
    params = {"w": rng.standard_normal((4, 3)), "b": rng.standard_normal(3)}
    tparams = [torch.tensor(params[k], requires_grad=True) for k in ("w", "b")]
    opt = Optimizer(name, lr=0.05, momentum=0.9).init(params)
    topt = (
        torch.optim.SGD(tparams, lr=0.05, momentum=0.9)
        if name == "sgd"
        else torch.optim.Adam(tparams, lr=0.05, eps=1e-8)
    )
    for _ in range(5):
        grads = {k: rng.standard_normal(v.shape) for k, v in params.items()}
        for tp, k in zip(tparams, ("w", "b"), strict=True):
            tp.grad = torch.tensor(grads[k])
        opt.step(params, grads)
        topt.step()
    for tp, k in zip(tparams, ("w", "b"), strict=True):
        check_close(params[k], tp, np.float64, k)


def test_norm_clipping_matches_torch():
    rng = np.random.default_rng(0)
    grads = {"a": rng.standard_normal((5, 4)) * 3, "b": rng.standard_normal(7)}
    tparams = [
        torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads.values()
    ]
    for tp, g in zip(tparams, grads.values(), strict=True):
        tp.grad = torch.tensor(g)
    norm = clip_gradients(grads, "norm", 2.0)
    tnorm = torch.nn.utils.clip_grad_norm_(tparams, 2.0)
    assert abs(norm - tnorm.item()) < 1e-12
    for tp, g in zip(tparams, grads.values(), strict=True):
        check_close(g, tp.grad, np.float64, "clipped")
