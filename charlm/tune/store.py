"""Where a sweep's study lives: Optuna's RDB storage, a SQLite file by default (nothing to
start; `checkpoints/<study>/study.db`), or any SQLAlchemy URL (postgresql://, mysql://) that
several processes and machines share. A URL's password is never shown: every message names
the storage as redacted() gives it.

Workers on one machine share a SQLite file: each connection waits up to 60 s for a lock.
Each running trial beats a heartbeat every HEARTBEAT seconds; a trial whose worker died
(kill -9, a lost machine) is marked failed once GRACE seconds pass without one, by the next
worker that starts a trial, and a fresh trial takes its place.
"""

import contextlib
import importlib
import logging
import time
import warnings
from pathlib import Path

from charlm.errors import CharlmError

HEARTBEAT = 10  # seconds
GRACE = 60  # seconds without a heartbeat before a running trial counts as dead
TRIES = 5  # opening the storage: a fresh database's tables made by two workers at once
INSTALL = 'charlm sweep needs Optuna: pip install -e ".[sweep]" (or pip install optuna)'
DRIVERS = {"postgresql": 'psycopg (pip install "psycopg[binary]"; SQLAlchemy 2.1 reads '
                         "postgresql:// with it, postgresql+psycopg2:// with psycopg2)",
           "mysql": "PyMySQL (pip install pymysql, and a mysql+pymysql:// URL)"}  # fmt: skip


def optuna():
    """The optuna module, quiet (charlm prints its own lines), or a one-line refusal."""
    try:
        module = importlib.import_module("optuna")
    except ImportError:
        raise CharlmError(INSTALL) from None
    module.logging.set_verbosity(logging.ERROR)  # a failed trial's line is charlm's to print
    warnings.filterwarnings("ignore", category=module.exceptions.ExperimentalWarning)
    return module


def url_of(storage, folder):
    """The storage URL: storage itself, or the SQLite file in the study's folder."""
    if storage:
        return storage
    return f"sqlite:///{Path(folder).resolve() / 'study.db'}"


def redacted(url):
    """url with any password replaced by ***, for messages and logs."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy reads: show its scheme alone
        return url.split("://", 1)[0] + "://..." if "://" in url else "(not a URL)"


def open_study(url, name, sampler=None, pruner=None, create=True):
    """The study `name` in the storage at url, made if missing (create) with sampler and
    pruner. Each failure (no driver, no server, a bad URL, no such study) is one line."""
    optuna = globals()["optuna"]()
    shown = redacted(url)
    for attempt in range(TRIES):
        try:
            return _open(optuna, url, name, sampler, pruner, create)
        except KeyError:
            raise CharlmError(f"no study '{name}' in {shown}; start it with charlm sweep SPACE "
                              f"--study {name}") from None  # fmt: skip
        except ImportError as e:
            scheme = url.split(":", 1)[0].split("+")[0]
            need = DRIVERS.get(scheme, f"the driver for {scheme}")
            raise CharlmError(f"cannot open the sweep's storage {shown}: it needs {need} "
                              f"({str(e).splitlines()[0]})") from None  # fmt: skip
        except Exception as e:  # SQLAlchemy's and the driver's errors: a bad URL, no server
            reason = _secret_free(str(getattr(e, "orig", None) or e).splitlines()[0], url)
            raced = "duplicate key" in reason or "already exists" in reason
            if attempt + 1 == TRIES or not raced:
                raise CharlmError(f"cannot open the sweep's storage {shown} ({reason})") from None
            time.sleep(0.5 * (attempt + 1))  # two first workers made the tables at once


def _open(optuna, url, name, sampler, pruner, create):
    sqlite = url.startswith("sqlite")
    kwargs = {"connect_args": {"timeout": 60}} if sqlite else {"pool_pre_ping": True}
    storage = optuna.storages.RDBStorage(
        url, engine_kwargs=kwargs, heartbeat_interval=HEARTBEAT, grace_period=GRACE
    )
    if not create:
        return optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
    return optuna.create_study(storage=storage, study_name=name, sampler=sampler, pruner=pruner,
                               direction="minimize", load_if_exists=True)  # fmt: skip


def _secret_free(text, url):
    """text with url, and its password anywhere, replaced as redacted() shows them."""
    text = text.replace(url, redacted(url))
    with contextlib.suppress(Exception):
        from sqlalchemy.engine import make_url

        password = make_url(url).password
        if password:
            text = text.replace(str(password), "***")
    return text
