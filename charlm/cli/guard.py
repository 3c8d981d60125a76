"""How every command ends: normally, or with one line on stderr, never a traceback.

    charlm: error: <what is wrong, where, how to fix it>      exit status 2
    charlm: error: interrupted (Ctrl-C)                        exit status 130

Group is the command group every charlm command runs under. It turns into that one line:
    - a CharlmError (the user's input) and a usage error (an unknown option, a missing
      argument: the parser's own message);
    - memory that cannot be had (MemoryError), which the size checks should have foreseen;
    - an operating system's refusal of a path that the checks did not foresee (OSError);
    - Ctrl-C during set-up (training handles its own Ctrl-C: it saves first);
    - output that cannot be written: stdout closed (>&-), a closed pipe (| head -1) or a full
      disk (>/dev/full). Standard output is wrapped (Output) so that a failed write does not
      raise in the middle of the work: it is recorded, later writes are dropped, and the
      command sees output_failed() and stops (training saves first), then ends with the line.
Characters the output's encoding cannot show are written as backslash escapes, never an error.
"""

import contextlib
import errno
import os
import sys

import typer
from typer.core import TyperGroup

from charlm.errors import ArgumentError, CharlmError

MIN_WIDTH = 20  # a COLUMNS below this (0, say) reads as no setting: 80 columns


def message_line(text):
    """One line of at most a few hundred characters (values quoted in it may be huge)."""
    line = " ".join(str(text).split())
    return line if len(line) <= 600 else line[:600] + "..."


def say_error(text):
    """Write 'charlm: error: text' as one line on stderr, whatever stderr can encode."""
    line = f"charlm: error: {message_line(text)}\n"
    stream = sys.stderr
    if stream is None:
        return
    encoding = getattr(stream, "encoding", None) or "utf-8"
    line = line.encode(encoding, "backslashreplace").decode(encoding, "replace")
    with contextlib.suppress(OSError, ValueError):
        stream.write(line)
        stream.flush()


class Output:
    """Standard output that records a failed write instead of raising (module docstring)."""

    def __init__(self, stream):
        self.stream = stream
        self.error = None if stream is not None else "standard output is closed"

    def write(self, text):
        if self.error is None:
            try:
                try:
                    return self.stream.write(text)
                except UnicodeEncodeError:
                    enc = self.stream.encoding or "ascii"
                    return self.stream.write(text.encode(enc, "backslashreplace").decode(enc))
            except (OSError, ValueError) as e:
                self._failed(e)
        return len(text)

    def flush(self):
        if self.error is None:
            try:
                self.stream.flush()
            except (OSError, ValueError) as e:
                self._failed(e)

    def _failed(self, e):
        reason = getattr(e, "strerror", None) or str(e) or type(e).__name__
        self.error = f"cannot write to standard output ({reason})"
        # what is still buffered would fail again when Python exits: send it nowhere
        with contextlib.suppress(OSError, ValueError, AttributeError):
            if getattr(e, "errno", None) in (errno.EPIPE, errno.ENOSPC, errno.EIO, errno.EBADF):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, self.stream.fileno())
                os.close(devnull)

    def isatty(self):
        return self.error is None and _call(self.stream, "isatty", False)

    def fileno(self):
        return self.stream.fileno()

    def __getattr__(self, name):  # encoding, errors, buffer, ...
        return getattr(self.stream, name)


def _call(obj, name, default):
    try:
        return getattr(obj, name)()
    except (AttributeError, OSError, ValueError):
        return default


def output_failed():
    """The reason standard output failed in this command, or None."""
    out = sys.stdout
    return out.error if isinstance(out, Output) else None


def option_namer(command):
    """name -> how the command line spells the API's parameter `name`: the option (or
    argument) of the command whose Python parameter it is, else --name-with-dashes."""
    params = {p.name: p for p in getattr(command, "params", ())}

    def option(name):
        p = params.get(name)
        flags = [o for o in getattr(p, "opts", ()) if o.startswith("--")]
        if p is not None and flags:
            return flags[0]
        if p is not None and getattr(p, "param_type_name", "") == "argument":
            return "the " + name.replace("_", " ")  # TEXT: "the text"
        return "--" + name.replace("_", "-")

    return option


@contextlib.contextmanager
def handled(console=None, command=None):
    """Run a command: its failures become one line (module docstring); an API argument's
    refusal names command's option for it."""
    saved = sys.stdout
    sys.stdout = Output(saved if not isinstance(saved, Output) else saved.stream)
    if console is not None and console.width < MIN_WIDTH:
        console.width = 80
    try:
        if output_failed():  # closed before the command began: do nothing, say so
            raise CharlmError(f"{output_failed()}; nothing was done")
        yield
        sys.stdout.flush()
        if output_failed():
            raise CharlmError(output_failed())
    except ArgumentError as e:
        say_error(e.render(option_namer(command() if callable(command) else command)))
        raise typer.Exit(2) from None
    except CharlmError as e:
        say_error(e)
        raise typer.Exit(2) from None
    except OSError as e:  # a path the checks did not foresee (a name too long to look up)
        where = f"{message_line(e.filename)}: " if getattr(e, "filename", None) else ""
        say_error(f"{where}{e.strerror or e}")
        raise typer.Exit(2) from None
    except MemoryError as e:
        detail = str(e).split("\n")[0] or "the allocation failed"
        say_error(f"not enough memory ({detail}); files on disk stay as they were before it")
        raise typer.Exit(2) from None
    except Terminated:
        say_error("terminated (SIGTERM)")
        raise typer.Exit(143) from None
    except KeyboardInterrupt:
        say_error("interrupted (Ctrl-C)")
        raise typer.Exit(130) from None
    finally:
        sys.stdout = saved


class Terminated(KeyboardInterrupt):
    """A SIGTERM, where a command turns it into an exception (charlm train, during set-up),
    so that it ends as a Ctrl-C does but is named for what it was."""


def is_usage_error(e):
    """Whether e is the parser's own refusal (an unknown option, a missing argument): click's
    ClickException, known by its interface, since typer brings click (up to 0.2x) or a copy
    of its own (after), and neither is ours to import from."""
    return callable(getattr(e, "format_message", None)) and isinstance(
        getattr(e, "exit_code", None), int
    )


def plain_flags(command, ctx):
    """A flag (--force, --help) takes no value, so --help shows no type beside it: an empty
    metavar, on command and the commands under it (typer 0.2x shows "<bool>" otherwise)."""
    for param in [*command.params, command.get_help_option(ctx)]:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        plain_flags(sub, ctx)


class Group(TyperGroup):
    """The charlm command group: usage errors in one line, commands run under handled()."""

    console = None  # set by the CLI: the rich console whose width handled() checks
    order = ()  # set by the CLI: the commands in the order --help lists them

    def list_commands(self, ctx):
        names = super().list_commands(ctx)
        rank = {name: i for i, name in enumerate(self.order)}
        return sorted(names, key=lambda name: rank.get(name, len(rank)))

    def make_context(self, *args, **kwargs):
        # typer turns a Ctrl-C while the command line is parsed into a silent exit 130
        try:
            return super().make_context(*args, **kwargs)
        except KeyboardInterrupt:
            say_error("interrupted (Ctrl-C)")
            raise typer.Exit(130) from None

    def main(self, args=None, prog_name=None, standalone_mode=True, **extra):
        try:
            code = super().main(args, prog_name, standalone_mode=False, **extra)
        except Exception as e:
            if not is_usage_error(e):
                raise
            where = e.ctx.command_path if getattr(e, "ctx", None) else "charlm"
            say_error(f"{e.format_message()} (see {where} --help)")
            code = 2
        code = code if isinstance(code, int) else 0
        if not standalone_mode:
            return code
        sys.exit(code)

    def resolve_command(self, ctx, args):
        name, command, rest = super().resolve_command(ctx, args)
        self.command = command  # whose options name the API's parameters (handled)
        if command is not None:
            plain_flags(command, ctx)
        return name, command, rest

    def format_help(self, ctx, formatter):
        plain_flags(self, ctx)
        super().format_help(ctx, formatter)

    def invoke(self, ctx):
        if ctx.parent is not None:  # a nested group (corpus): the top one already guards
            return super().invoke(ctx)
        self.command = None
        with handled(self.console, lambda: self.command):
            return super().invoke(ctx)
