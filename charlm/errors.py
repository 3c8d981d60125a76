"""The exception types users see: the CLI prints the message as one line and exits 2."""

import re


class CharlmError(Exception):
    """A problem with the user's input (a file, a config, an option), never a bug in charlm.

    The message says what is wrong, where, and how to fix it, in one line.
    """


class ArgumentError(CharlmError):
    """A refused argument of a public call, named as the caller wrote it.

    param: the parameter's name in the Python call (top_k); value: what was given; rule: what
    is allowed, in which "{name}" stands for another parameter. From Python it reads
        top_k=0: must be 1 or more
    and the command line names its own options instead (charlm.cli.guard):
        --top-k 0: must be 1 or more
    """

    HIDDEN = object()  # a value not worth repeating (a whole text): "param: rule"
    WHOLE = object()  # the rule says it all, naming the parameters it is about

    def __init__(self, param, value, rule):
        self.param, self.value, self.rule = param, value, rule
        super().__init__(self.render(lambda name: name, python=True))

    def render(self, option, python=False):
        """The message with every parameter name p shown as option(p)."""
        rule = _fill(self.rule, option)
        if self.value is self.WHOLE:
            return rule
        if self.value is self.HIDDEN:
            return f"{self.param if python else option(self.param)}: {rule}"
        if python:
            return f"{self.param}={_show(self.value)}: {rule}"
        return f"{option(self.param)} {_show(self.value, cli=True)}: {rule}"


# "{name}", or "{flag=True}" (a flag to give), or a doubled brace; any other brace is text
_PLACE = re.compile(r"\{\{|\}\}|\{(\w+)(=True)?\}")


def _fill(rule, option):
    """rule with each parameter name p shown as option(p) (the flag alone for p=True where
    the names are options); a brace that belongs to no placeholder (a user's path or blank
    character quoted in the rule) stays as it is."""

    def one(m):
        if m.group(1) is None:
            return m.group(0)[0]
        shown = option(m.group(1))
        return shown if shown != m.group(1) else m.group(0)[1:-1]

    return _PLACE.sub(one, rule)


def literal(text):
    """text inside a rule, its braces kept as they are."""
    return str(text).replace("{", "{{").replace("}", "}}")


def _show(value, cli=False):
    if isinstance(value, int) and value.bit_length() > 200:  # str() refuses 4,300 digits
        return f"(a number of about {len(hex(value)) * 6 // 5:,} digits)"
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value) if isinstance(value, str) else str(value)
