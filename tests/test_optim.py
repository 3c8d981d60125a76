"""Each optimiser against updates computed by hand, and both clipping modes."""

import math

import numpy as np
import pytest

from charlm.run.optim import Optimizer, clip_gradients, global_norm, learning_rate


def one_param():
    return {"w": np.array([1.0, -2.0])}


def test_adagrad_is_min_char_rnns_update():
    p, opt = one_param(), Optimizer("adagrad", lr=0.1, eps=1e-8)
    opt.init(p)
    opt.step(p, {"w": np.array([0.5, -1.0])})
    # mem = g^2 = [0.25, 1]; p -= 0.1 * g / sqrt(mem + 1e-8) = 0.1 * sign(g)
    np.testing.assert_allclose(
        p["w"],
        [1.0 - 0.1 * 0.5 / math.sqrt(0.25 + 1e-8), -2.0 + 0.1 * 1.0 / math.sqrt(1.0 + 1e-8)],
        rtol=1e-15,
    )
    opt.step(p, {"w": np.array([1.0, 1.0])})
    # mem = [1.25, 2]
    np.testing.assert_allclose(opt.state["mem.w"], [1.25, 2.0])
    np.testing.assert_allclose(
        p["w"], [0.9 - 0.1 / math.sqrt(1.25 + 1e-8), -1.9 - 0.1 / math.sqrt(2.0 + 1e-8)], rtol=1e-6
    )


def test_sgd_momentum_update():
    p, opt = one_param(), Optimizer("sgd", lr=0.5, momentum=0.9)
    opt.init(p)
    opt.step(p, {"w": np.array([1.0, 2.0])})  # v = g
    np.testing.assert_allclose(p["w"], [0.5, -3.0])
    opt.step(p, {"w": np.array([1.0, 0.0])})  # v = 0.9 * [1, 2] + [1, 0] = [1.9, 1.8]
    np.testing.assert_allclose(opt.state["velocity.w"], [1.9, 1.8])
    np.testing.assert_allclose(p["w"], [0.5 - 0.95, -3.0 - 0.9])


def test_adam_update_with_bias_correction():
    p, opt = one_param(), Optimizer("adam", lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8)
    opt.init(p)
    g1, g2 = np.array([0.3, -0.6]), np.array([0.1, 0.2])
    opt.step(p, {"w": g1})
    # step 1: m_hat = g, v_hat = g^2, so the update is lr * g / (|g| + eps)
    p1 = np.array([1.0, -2.0]) - 0.01 * g1 / (np.abs(g1) + 1e-8)
    np.testing.assert_allclose(p["w"], p1, rtol=1e-15)
    opt.step(p, {"w": g2})
    m = 0.9 * 0.1 * g1 + 0.1 * g2
    v = 0.999 * 0.001 * g1**2 + 0.001 * g2**2
    step2 = 0.01 * (m / (1 - 0.9**2)) / (np.sqrt(v / (1 - 0.999**2)) + 1e-8)
    np.testing.assert_allclose(p["w"], p1 - step2, rtol=1e-14)
    assert int(opt.state["step"]) == 2


def test_state_is_a_flat_dict_of_arrays_per_param():
    params = {"a": np.zeros(3, np.float32), "b": np.zeros((2, 2), np.float32)}
    state = Optimizer("adam", 0.1).init(params).state
    assert sorted(state) == ["m.a", "m.b", "step", "v.a", "v.b"]
    assert state["m.b"].shape == (2, 2) and state["m.b"].dtype == np.float32


def test_elementwise_clip_returns_the_norm_before():
    g = {"a": np.array([3.0, -7.0]), "b": np.array([[0.5, 6.0]])}
    norm = clip_gradients(g, "elementwise", 5.0)
    assert math.isclose(norm, math.sqrt(9 + 49 + 0.25 + 36))
    np.testing.assert_array_equal(g["a"], [3.0, -5.0])
    np.testing.assert_array_equal(g["b"], [[0.5, 5.0]])


def test_global_norm_clip_scales_everything_together():
    g = {"a": np.array([3.0, 0.0]), "b": np.array([4.0])}  # norm 5
    norm = clip_gradients(g, "norm", 1.0)
    assert norm == 5.0
    assert math.isclose(global_norm(g), 1.0, rel_tol=1e-6)
    np.testing.assert_allclose(g["a"], [3.0 / (5 + 1e-6), 0.0])
    np.testing.assert_allclose(g["b"], [4.0 / (5 + 1e-6)])


@pytest.mark.parametrize("mode", ["norm", "none"])
def test_small_gradients_are_left_alone(mode):
    g = {"a": np.array([0.3, -0.4])}
    assert math.isclose(clip_gradients(g, mode, 1.0), 0.5)
    np.testing.assert_array_equal(g["a"], [0.3, -0.4])


def schedule(**keys):
    from charlm.run.config import TrainConfig

    return TrainConfig(lr=0.01, **keys)


def test_learning_rate_warmup_then_cosine_to_lr_min():
    t = schedule(lr_schedule="cosine", lr_min=0.001, warmup_steps=4)
    lrs = [learning_rate(t, n, 14) for n in range(1, 17)]
    np.testing.assert_allclose(lrs[:4], [0.0025, 0.005, 0.0075, 0.01])  # n / W of lr
    # after warmup, cos over the 10 remaining updates: half way (n = 9) is the mean of the two
    np.testing.assert_allclose(lrs[8], (0.01 + 0.001) / 2)
    np.testing.assert_allclose(lrs[5], 0.001 + 0.009 * (1 + math.cos(math.pi * 0.2)) / 2)
    assert lrs[13] == pytest.approx(0.001) and lrs[14:] == [lrs[13]] * 2  # stays past the end
    assert all(a > b for a, b in zip(lrs[3:13], lrs[4:14], strict=True))


def test_learning_rate_constant_is_lr_and_warmup_reaches_it():
    t = schedule(lr_schedule="constant")
    assert [learning_rate(t, n, 5) for n in (1, 5, 9)] == [0.01] * 3
    t = schedule(lr_schedule="constant", warmup_steps=2)
    assert [learning_rate(t, n, 5) for n in (1, 2, 3, 9)] == [0.005, 0.01, 0.01, 0.01]
