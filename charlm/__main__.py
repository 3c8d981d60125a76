"""`python -m charlm` and the `charlm` command: the command line, with a Ctrl-C during its
imports (numpy, typer: a fraction of a second) said in one line like any other.

While the imports run, SIGINT only sets a flag: a KeyboardInterrupt raised there can land in
one of importlib's weakref callbacks, where Python prints it as "Exception ignored" with a
traceback and carries on. Once the imports are done the flag is acted on and Python's own
handler is back for the command (and its guard, charlm.cli.guard)."""

# _signal and sys are built in and already loaded, so these imports take no import lock and
# the flag is in place from this module's first line (the `signal` module is not loaded yet).
import _signal
import sys

_asked = []
_signal.signal(_signal.SIGINT, lambda signum, frame: _asked.append(signum))


def _interrupted():
    sys.stderr.write("charlm: error: interrupted (Ctrl-C)\n")
    sys.exit(130)


def main():
    try:
        _signal.signal(_signal.SIGINT, lambda signum, frame: _asked.append(signum))
        from charlm.cli import main as run

        _signal.signal(_signal.SIGINT, _signal.default_int_handler)
        if _asked:
            _interrupted()
        run()
    except KeyboardInterrupt:  # after the imports, before or after a command's own guard
        _interrupted()


if __name__ == "__main__":
    main()
