"""The layers hold as the README's Layout says: the engine imports alone, importing charlm
does nothing, a Ctrl-C at any moment of a command's start is one line, and no function
outside the engine's math is long."""

import ast
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import invoke, refused

ROOT = Path(__file__).resolve().parent.parent


def loaded_after(code):
    """The modules a fresh interpreter has loaded after running code."""
    probe = f"{code}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, cwd=ROOT)  # fmt: skip
    return set(out.stdout.split())


def test_the_engine_imports_numpy_and_itself_alone():
    mods = loaded_after("import charlm.nn.lstm, charlm.nn.model, charlm.nn.infer")
    ours = {m for m in mods if m.split(".")[0] == "charlm"}
    assert ours and all(m == "charlm" or m.startswith("charlm.nn") for m in ours), ours
    assert "numpy" in mods and not {"typer", "rich", "yaml", "click", "matplotlib"} & mods


def test_importing_charlm_loads_none_of_it_until_a_name_is_used():
    assert {m for m in loaded_after("import charlm") if m.startswith("charlm.")} == set()
    mods = loaded_after("import charlm\ncharlm.load")
    assert "charlm.api.model" in mods and "charlm.cli" not in mods
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        import charlm

        charlm.nothing  # noqa: B018


def test_ctrl_c_at_any_moment_of_the_start_is_one_line(tmp_path):
    """SIGINT from 0 to 0.6 s after `python -m charlm sample` starts: before Python handles
    signals it dies of the signal, silently; while the interpreter itself starts (its site
    module, runpy finding charlm) Python reports its own error, in which charlm has no frame;
    from charlm's first line on, one line and exit 130 (or the command's own refusal: there is
    no checkpoint here), never a traceback."""
    for delay in [0.0, 0.01, 0.03, 0.06, 0.1, 0.15, 0.2, 0.3, 0.45, 0.6]:
        proc = subprocess.Popen([sys.executable, "-m", "charlm", "sample"], cwd=tmp_path,
                                env={"PYTHONPATH": str(ROOT)}, stderr=subprocess.PIPE,
                                stdout=subprocess.DEVNULL)  # fmt: skip
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        err = err.decode()
        if err.startswith("Fatal Python error: init_") or (err and "charlm" not in err):
            continue  # the interpreter's start or runpy's search, before any of charlm ran
        assert "Traceback" not in err and "Exception ignored" not in err, (delay, err)
        assert proc.returncode in (-signal.SIGINT, 130, 2), (delay, proc.returncode, err)
        if err or proc.returncode != -signal.SIGINT:
            assert err.startswith("charlm: error: ") and err.count("\n") == 1, (delay, err)


def test_a_path_the_system_refuses_is_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    long = "x" * 300  # longer than a file name may be
    for args in (["runs", long], ["report", long], ["sample", "--checkpoint", long]):
        refused(invoke(*args), "File name too long")


def function_bodies():
    """(where, lines) of every function outside charlm/nn, its docstring left out."""
    for path in sorted((ROOT / "charlm").rglob("*.py")):
        if "nn" in path.relative_to(ROOT / "charlm").parts:
            continue  # the engine's math: a cell's step is one function, documented
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef):
                body = node.body
                if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                    body = body[1:] or body
                yield f"{path.relative_to(ROOT)}:{node.name}", node.end_lineno - body[0].lineno + 1


def test_no_function_outside_the_engine_is_long():
    long = [(where, n) for where, n in function_bodies() if n > 50]
    assert not long, long
