"""`python -m charlm` and the `charlm` command: the command line, with a Ctrl-C during its
imports (numpy, typer: a fraction of a second) said in one line like any other."""

import sys


def main():
    try:
        from charlm.cli import main as run

        run()
    except KeyboardInterrupt:  # before or after a command's own guard (charlm.cli.guard)
        sys.stderr.write("charlm: error: interrupted (Ctrl-C)\n")
        sys.exit(130)


if __name__ == "__main__":
    main()
