"""How a charlm config's YAML is read: PyYAML's safe loader, made strict (charlm.run.config).

Refused, as what makes a config mean something other than it says or costs more than it
holds: a key given twice (the last would silently win), aliases (*name: one value in two
places, where an override of one would change both; an alias bomb expands to gigabytes) and
nesting deeper than MAX_DEPTH (a config is sections of keys of scalars: two levels; a deeper
value is refused by its key's type anyway, so depth only bounds the parser's recursion).
"""

import re

import yaml

from charlm.run.rules import short

MAX_DEPTH = 8
MAX_DIGITS = 100


class Loader(yaml.SafeLoader):
    """SafeLoader that also reads 1e-3 as a float (PyYAML's YAML 1.1 rule wants a dot)."""

    depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None,
                None,
                "aliases (*name) are not supported in a charlm config; write the value out",
                self.peek_event().start_mark,
            )
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"nested deeper than {MAX_DEPTH} levels (a config is sections of keys)",
                    self.peek_event().start_mark,
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {short(key)} is given twice", key_node.start_mark
                )
            if key is not None:
                seen.add(key)
        return super().construct_mapping(node, deep)


def _integer(loader, node):
    """An integer, refused past MAX_DIGITS digits (Python's int() refuses 4,300 with a
    ValueError, and no key's range comes near)."""
    if len(node.value) > MAX_DIGITS:
        raise yaml.constructor.ConstructorError(
            None,
            None,
            f"a number of {len(node.value):,} digits is beyond every key's range",
            node.start_mark,
        )
    return yaml.SafeLoader.construct_yaml_int(loader, node)


Loader.add_constructor("tag:yaml.org,2002:int", _integer)
Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def parse(text):
    """The data in a YAML text, by Loader's rules (yaml.YAMLError when refused)."""
    return yaml.load(text, Loader=Loader)


def compose(text):
    """The node tree of a YAML text (for the line a key is on)."""
    return yaml.compose(text, Loader=Loader)


def where(source, text, path):
    """'file, line N' for a key path in the YAML text, or just the source."""
    line = line_of(text, path) if text else None
    return f"{source}, line {line}" if line else source


def line_of(text, path):
    try:
        node = compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for key in path:
        if not isinstance(node, yaml.MappingNode):
            return line
        for k, v in node.value:
            if k.value == str(key):
                line, node = k.start_mark.line + 1, v
                break
        else:
            return line
    return line
