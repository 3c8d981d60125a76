"""Two `charlm sweep` processes sharing one study on a real PostgreSQL server, which the test
starts in a temporary folder (Debian's postgresql package: .ci/run installs it) on a loopback
port, and stops. Skipped only where the server's programs or the driver are absent."""

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.helpers import write_corpus

optuna = pytest.importorskip("optuna")
pytest.importorskip("psycopg")  # the driver SQLAlchemy 2.1 uses for postgresql://
BIN = next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin"))), None)
if BIN is None or not Path(BIN, "initdb").exists():
    pytest.skip("no PostgreSQL server programs (apt install postgresql)", allow_module_level=True)
ROOT = Path(__file__).resolve().parent.parent
TINY = ["model.num_layers=1", "model.hidden_size=8", "train.batch_size=4", "train.seq_len=16",
        "train.eval_every=10", "train.report=false"]  # fmt: skip


def as_server(*command):
    """A server program, as the postgres user when this is root (PostgreSQL refuses root)."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
    return subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120)


@pytest.fixture
def server():
    """A PostgreSQL server on 127.0.0.1:PORT with a database 'sweep'; yields its URL."""
    data = Path(tempfile.mkdtemp(prefix="charlm-pg-"))
    if os.getuid() == 0:
        shutil.chown(data, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = as_server(f"{BIN}/initdb", "-D", str(data / "db"), "-A", "trust", "-U", "charlm")
    assert done.returncode == 0, done.stderr
    options = f"-p {port} -k {data} -h 127.0.0.1"
    done = as_server(f"{BIN}/pg_ctl", "-D", str(data / "db"), "-o", options, "-l",
                     str(data / "log"), "-w", "start")  # fmt: skip
    assert done.returncode == 0, done.stderr
    try:
        made = as_server(f"{BIN}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "charlm",
                         "sweep")  # fmt: skip
        assert made.returncode == 0, made.stderr
        yield f"postgresql://charlm:s3cret@127.0.0.1:{port}/sweep"
    finally:
        as_server(f"{BIN}/pg_ctl", "-D", str(data / "db"), "-m", "immediate", "stop")
        shutil.rmtree(data, ignore_errors=True)


def test_two_processes_share_a_study_on_postgresql(server, tmp_path):
    write_corpus(tmp_path / "c.txt", 4000)
    (tmp_path / "space.yaml").write_text("train.lr: {log: [0.001, 0.03]}\n")
    command = [sys.executable, "-m", "charlm", "sweep", "space.yaml", "--corpus", "c.txt",
               "--steps", "40", "--trials", "4", "--storage", server, "--study", "shared",
               *[a for s in TINY for a in ("--set", s)]]  # fmt: skip
    env = {"PYTHONPATH": str(ROOT), "PATH": os.environ["PATH"]}
    procs = [subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]  # fmt: skip
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert "s3cret" not in out + err and "charlm:***@127.0.0.1" in out
    study = optuna.load_study(study_name="shared", storage=server)
    trials = study.get_trials()
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert len(complete) >= 4 and not [t for t in trials if t.state.name == "FAIL"]
    folders = [t.user_attrs["run"] for t in trials]
    assert len(set(folders)) == len(folders)  # never one folder for two trials
    for folder in folders:
        assert (tmp_path / folder / "latest.npz").exists()
    mine = [line for out, _ in outs for line in out.splitlines() if line.startswith("trial ")]
    assert len(mine) == len(trials)  # each trial run by exactly one of the two
