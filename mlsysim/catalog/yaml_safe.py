"""Read a YAML spec file defensively: bounded size, strict UTF-8, no aliases, no duplicate keys.

Everything a hostile or careless file can do to a YAML reader ends here as one
:class:`CatalogError` line naming the file, the place and what is allowed:

* the file must be a regular file of at most :data:`MAX_BYTES` (:data:`USER_MAX_BYTES` for a
  user's spec; no directory, device or pipe);
* it must be UTF-8 (a UTF-8 byte-order mark is tolerated; UTF-16/32 and Latin-1 files are named
  as such, with the byte offset of the first byte that is not UTF-8);
* anchors may be written but an alias (``*name``) may not be used: a value used twice is how a
  1 KB "billion laughs" file expands into 10^9 nodes, and how a value can contain itself.
  Merge keys (``<<: *base``) are refused for the same reason;
* a key may appear once per mapping (YAML parsers otherwise keep the last value silently);
* tags that build Python objects (``!!python/object``) are refused, as by ``yaml.safe_load``;
* YAML 1.1's surprises in numbers are refused: ``010`` (octal 8) and ``1:30`` (base 60, 90);
* nesting is bounded by libyaml (1,000 levels) and by the provenance splitter.

The C parser (libyaml, ``CSafeLoader``) still does the scanning and composing; the checks ride on
the Python constructor that builds the objects anyway, so they cost no extra pass over the file
(with the garbage collector paused while nodes are built, reading is faster than before).
"""

from __future__ import annotations

import codecs
import gc
import os
import stat
import types
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode

from ..errors import CatalogError, short

#: Largest YAML file read (bytes): catalog entries are a few KB, the bibliography ~60 KB.
MAX_BYTES = 1_000_000
#: Largest user spec file (``load_spec``): 60 times the largest catalog entry. Parsing time
#: grows with the size (about a second for a file of this size made of tiny values).
USER_MAX_BYTES = 262_144

_BASE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"
_VALUE_TAG = "tag:yaml.org,2002:value"
_STR_TAG = "tag:yaml.org,2002:str"
_BOMS = ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
         (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16"))


def _where(mark) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}"


class _SpecLoader(_BASE):
    """``CSafeLoader`` whose constructor refuses aliases, merge keys, duplicate keys and
    unknown tags, raising :class:`CatalogError` with the file (``origin``) and the line."""

    origin = "<spec>"

    def _fail(self, message: str, mark=None):
        where = f" ({_where(mark)})" if mark is not None else ""
        raise CatalogError(f"{self.origin}{where}: {message}")

    def construct_object(self, node, deep=False):
        # As BaseConstructor.construct_object, for the safe constructors only (exact tags, no
        # multi-constructors), with a node met a second time refused: only an alias does that.
        if node in self.constructed_objects or node in self.recursive_objects:
            self._fail("YAML aliases (*name) are not allowed in a spec file: the value anchored "
                       "here is used again; write it out where it is needed", node.start_mark)
        if deep:
            old_deep = self.deep_construct
            self.deep_construct = True
        self.recursive_objects[node] = None
        constructor = self.yaml_constructors.get(node.tag)
        if constructor is None:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!", 1)
            self._fail(f"YAML tag {short(tag)} is not allowed; a spec file holds plain mappings, "
                       "lists, strings and numbers", node.start_mark)
        data = constructor(self, node)
        if isinstance(data, types.GeneratorType):
            generator = data
            data = next(generator)
            if self.deep_construct:
                for _ in generator:
                    pass
            else:
                self.state_generators.append(generator)
        self.constructed_objects[node] = data
        del self.recursive_objects[node]
        if deep:
            self.deep_construct = old_deep
        return data

    def construct_mapping(self, node, deep=False):
        if not isinstance(node, MappingNode):
            self._fail(f"expected a mapping, found {node.id}", node.start_mark)
        mapping = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                self._fail("YAML merge keys (<<) are not allowed in a spec file; write the "
                           "fields out", key_node.start_mark)
            if key_node.tag == _VALUE_TAG:
                key_node.tag = _STR_TAG
            key = self.construct_object(key_node, deep=deep)
            try:
                seen = key in mapping
            except TypeError:
                self._fail("a mapping key must be a string or a number, not a list or mapping",
                           key_node.start_mark)
            if seen:
                first = next(k.start_mark.line + 1 for k, _ in node.value
                             if k is not key_node and self.constructed_objects.get(k) == key)
                self._fail(f"duplicate key {short(key)} (lines {first} and "
                           f"{key_node.start_mark.line + 1}): YAML would keep only the last "
                           "value; give each key once", key_node.start_mark)
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping

    def construct_yaml_int(self, node):
        self._refuse_yaml11_surprises(node)
        try:
            return super().construct_yaml_int(node)
        except ValueError:  # Python refuses to parse integers of more than 4,300 digits
            self._fail(f"the integer {short(node.value)} ({len(node.value)} characters) is far "
                       "too large", node.start_mark)

    def construct_yaml_float(self, node):
        self._refuse_yaml11_surprises(node)
        return super().construct_yaml_float(node)

    def _refuse_yaml11_surprises(self, node):
        """YAML 1.1 reads ``010`` as octal 8 and ``1:30`` as base 60 (90): never meant in a
        spec, and silently wrong; ask for the plain number (or a quoted string)."""
        text = node.value
        if ":" in text:
            self._fail(f"{short(text)} is read by YAML as a base-60 number; write the value "
                       "as a plain number, or quote it", node.start_mark)
        digits = text.lstrip("+-").replace("_", "")
        if len(digits) > 1 and digits[0] == "0" and digits.isdigit():
            self._fail(f"{short(text)} is read by YAML as an octal number "
                       f"({int(digits, 8)}); write it without the leading zero",
                       node.start_mark)


_SpecLoader.add_constructor("tag:yaml.org,2002:int", _SpecLoader.construct_yaml_int)
_SpecLoader.add_constructor("tag:yaml.org,2002:float", _SpecLoader.construct_yaml_float)


def read_bytes(path: Path, max_bytes: int = MAX_BYTES) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``, or a CatalogError saying why not."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise CatalogError(f"{path}: cannot read file: no such file") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL character in the path
        reason = getattr(exc, "strerror", None) or str(exc)
        raise CatalogError(f"{path}: cannot read file: {reason}") from None
    if stat.S_ISDIR(info.st_mode):
        raise CatalogError(f"{path}: is a directory, not a YAML file")
    if not stat.S_ISREG(info.st_mode):
        raise CatalogError(f"{path}: is not a regular file (a device, pipe or socket); "
                           "give the path of a YAML file")
    limit = f"the limit for a spec file is {max_bytes:,} bytes"
    if info.st_size > max_bytes:
        raise CatalogError(f"{path}: file is {info.st_size:,} bytes; {limit}")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read file: {exc.strerror or exc}") from None
    if len(raw) > max_bytes:  # grew since stat
        raise CatalogError(f"{path}: file is over {max_bytes:,} bytes; {limit}")
    return raw


def _line_of(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def decode(raw: bytes, origin: str) -> str:
    """UTF-8 text of ``raw``; other encodings are named, with the offset of the first bad byte."""
    for bom, name in _BOMS:
        if raw.startswith(bom):
            raise CatalogError(f"{origin}: file is {name}-encoded (byte-order mark at byte 0); "
                               "save it as UTF-8")
    start = 3 if raw.startswith(codecs.BOM_UTF8) else 0
    nul = raw.find(b"\x00", start)
    if nul >= 0:
        raise CatalogError(f"{origin}: NUL byte at byte offset {nul} (line "
                           f"{_line_of(raw, nul)}): a binary file, or UTF-16/32 "
                           "without a byte-order mark? save it as UTF-8 text")
    try:
        return raw[start:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = start + exc.start
        hint = " (it looks like Latin-1/Windows-1252)" if raw[offset] >= 0xA0 else ""
        raise CatalogError(
            f"{origin}: not UTF-8: byte 0x{raw[offset]:02X} at byte offset {offset} (line "
            f"{_line_of(raw, offset)}) is not valid UTF-8{hint}; save it as UTF-8"
        ) from None


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """One line for any PyYAML/libyaml error, with line and column where known."""
    if isinstance(exc, yaml.reader.ReaderError):
        char = exc.character
        code = f"#x{char:04x}" if isinstance(char, int) else f"#x{ord(char[:1] or ' '):04x}"
        return (f"malformed YAML (character offset {exc.position}): character {code} is not "
                f"allowed ({exc.reason})")
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f" ({_where(mark)})" if mark is not None else ""
    problem = getattr(exc, "problem", None) or " ".join(str(exc).split())
    context, cmark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context:
        at = f" at {_where(cmark)}" if cmark is not None and cmark is not mark else ""
        problem = f"{problem} ({context}{at})"
    return f"malformed YAML{where}: {problem}"


def parse(text: str, origin: str) -> Any:
    """The one YAML document in ``text``, through the strict loader.

    The cyclic garbage collector is paused while the nodes are built: they hold no cycles
    (aliases are refused), and its passes over a growing heap made a 2 MB file of small
    mappings take seconds instead of a fraction of one (quadratic); the catalog reads faster
    too."""
    loader = _SpecLoader(text)
    loader.origin = origin
    collecting = gc.isenabled()
    gc.disable()
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise CatalogError(f"{origin}: {_yaml_problem(exc)}") from None
    except RecursionError:  # the pure-Python parser (no libyaml) on absurd nesting
        raise CatalogError(f"{origin}: malformed YAML: nested too deeply") from None
    finally:
        if collecting:
            gc.enable()
        loader.dispose()


def load_file(path: Path, max_bytes: int = MAX_BYTES) -> Any:
    """Read, decode and parse one YAML file; every failure is a one-line CatalogError."""
    return parse(decode(read_bytes(path, max_bytes), str(path)), str(path))
