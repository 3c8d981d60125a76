"""The command line, through Typer's CliRunner: output, exit status, one-line errors."""

from typer.testing import CliRunner

from charlm.cli import app
from charlm.nn import gru

runner = CliRunner()


def test_gradcheck_passes_and_prints_every_tensor():
    result = runner.invoke(
        app, ["gradcheck", "--type", "gru", "--layers", "1,2", "--unidirectional"]
    )
    assert result.exit_code == 0, result.output
    for name in ("weight_ih_l0", "weight_hh_l1", "embedding.weight", "head.bias", "h0"):
        assert name in result.output
    assert "FAIL" not in result.output
    assert "all pass: 19 tensors, 2 architectures" in result.output  # 7 + 12


def test_gradcheck_fails_with_the_failing_rows_named(monkeypatch):
    real = gru.backward

    def broken(p, cache, dout, dstateT, dh_seen=None):
        dx, dstate0, grads = real(p, cache, dout, dstateT, dh_seen)
        grads["bias_hh"] = grads["bias_hh"] * 1.01
        return dx, dstate0, grads

    monkeypatch.setattr(gru, "backward", broken)
    result = runner.invoke(app, ["gradcheck", "--type", "gru", "--layers", "1", "--unidirectional"])
    assert result.exit_code == 1
    assert "FAILED 1 of 7 tensors" in result.output
    assert "gru x1 bias_hh_l0: max relative error" in result.output


def test_gradcheck_of_a_config_uses_its_architecture(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(
        "model:\n  type: lstm\n  hidden_size: 24\n  num_layers: 2\n"
        "  bidirectional: true\n  embedding_size: 5\n"
    )
    result = runner.invoke(app, ["gradcheck", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert "bi-lstm x2" in result.output and "weight_hh_l1_reverse" in result.output
    assert "30/2304" in result.output  # 96 x 24 weight_hh, sampled


def test_bad_options_and_configs_are_one_line_errors_with_status_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  hidden_size: -3\n")
    cases = [
        (["gradcheck", "--type", "lstmm"], "--type lstmm: expected a comma-separated list of"),
        (["gradcheck", "--layers", "two"], "--layers two: expected a comma-separated list of"),
        (
            ["gradcheck", "--config", str(bad)],
            "line 2: model.hidden_size must be >= 1 and <= 65536, got -3",
        ),
        (["gradcheck", "--config", str(tmp_path / "none.yaml")], "config file not found"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, args
        assert result.stdout == ""
        assert result.stderr.startswith("charlm: error: ") and message in result.stderr
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("charlm ")
