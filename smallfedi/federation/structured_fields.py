"""The part of RFC 8941 structured fields that HTTP message signatures need.

Parses dictionaries (Signature-Input, Signature, Content-Digest) and serializes inner lists,
because RFC 9421 signs the canonical serialization of Signature-Input, not the bytes received.
"""

from __future__ import annotations

import base64
import re
import string
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal


class ParseError(ValueError):
    """The field value is not a valid structured field."""


class Token(str):
    """An sf-token, kept apart from sf-string because the two serialize differently."""


BareItem = int | Decimal | str | Token | bytes | bool
Parameters = dict[str, BareItem]


@dataclass(frozen=True)
class Item:
    value: BareItem
    params: Parameters = field(default_factory=dict)


@dataclass(frozen=True)
class InnerList:
    items: tuple[Item, ...]
    params: Parameters = field(default_factory=dict)


_KEY = re.compile(r"[a-z*][a-z0-9_\-.*]*")
_TOKEN = re.compile(r"[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*")
_NUMBER = re.compile(r"-?(\d{1,15})(\.\d{1,3})?")
_BYTES = re.compile(r":([A-Za-z0-9+/=]*):")
_PRINTABLE = set(string.printable) - set("\t\n\r\x0b\x0c")


class _Reader:
    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def peek(self) -> str:
        return self.text[self.pos:self.pos + 1]

    def skip(self, chars: str) -> None:
        while self.peek() and self.peek() in chars:
            self.pos += 1

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise ParseError(f"expected {char!r} at position {self.pos}")
        self.pos += 1

    def match(self, pattern: re.Pattern[str], what: str) -> re.Match[str]:
        found = pattern.match(self.text, self.pos)
        if not found:
            raise ParseError(f"expected {what} at position {self.pos}")
        self.pos = found.end()
        return found


def parse_dictionary(text: str) -> dict[str, Item | InnerList]:
    """RFC 8941 §4.2.2. A repeated key keeps its last value, as the RFC requires."""
    reader = _Reader(text.strip(" \t"))
    members: dict[str, Item | InnerList] = {}
    while reader.peek():
        key = reader.match(_KEY, "a key").group()
        if reader.peek() == "=":
            reader.pos += 1
            members[key] = _inner_list(reader) if reader.peek() == "(" else _item(reader)
        else:
            members[key] = Item(True, _parameters(reader))
        reader.skip(" \t")
        if not reader.peek():
            break
        reader.expect(",")
        reader.skip(" \t")
        if not reader.peek():
            raise ParseError("trailing comma")
    return members


def _inner_list(reader: _Reader) -> InnerList:
    reader.expect("(")
    items: list[Item] = []
    while True:
        reader.skip(" ")
        if reader.peek() == ")":
            reader.pos += 1
            return InnerList(tuple(items), _parameters(reader))
        items.append(_item(reader))
        if reader.peek() not in (" ", ")"):
            raise ParseError(f"expected ' ' or ')' at position {reader.pos}")


def _item(reader: _Reader) -> Item:
    return Item(_bare_item(reader), _parameters(reader))


def _parameters(reader: _Reader) -> Parameters:
    params: Parameters = {}
    while reader.peek() == ";":
        reader.pos += 1
        reader.skip(" ")
        key = reader.match(_KEY, "a parameter key").group()
        value: BareItem = True
        if reader.peek() == "=":
            reader.pos += 1
            value = _bare_item(reader)
        params[key] = value
    return params


def _bare_item(reader: _Reader) -> BareItem:
    char = reader.peek()
    if char == "-" or char.isdigit():
        return _number(reader)
    if char == '"':
        return _string(reader)
    if char == ":":
        return _byte_sequence(reader)
    if char == "?":
        value = reader.text[reader.pos + 1:reader.pos + 2]
        if value not in ("0", "1"):
            raise ParseError(f"invalid boolean at position {reader.pos}")
        reader.pos += 2
        return value == "1"
    if char.isascii() and (char.isalpha() or char == "*"):
        return Token(reader.match(_TOKEN, "a token").group())
    raise ParseError(f"unexpected {char!r} at position {reader.pos}")


def _number(reader: _Reader) -> int | Decimal:
    found = reader.match(_NUMBER, "a number")
    if found.group(2) is None:
        return int(found.group())
    if len(found.group(1)) > 12:
        raise ParseError("decimal has too many integer digits")
    return Decimal(found.group())


def _string(reader: _Reader) -> str:
    reader.expect('"')
    chars: list[str] = []
    while True:
        char = reader.peek()
        reader.pos += 1
        if char == '"':
            return "".join(chars)
        if char == "\\":
            char = reader.peek()
            reader.pos += 1
            if char not in ('"', "\\"):
                raise ParseError("invalid escape in string")
        elif char not in _PRINTABLE:  # also catches the end of the input ("")
            raise ParseError("invalid character in string")
        chars.append(char)


def _byte_sequence(reader: _Reader) -> bytes:
    encoded = reader.match(_BYTES, "a byte sequence").group(1).rstrip("=")
    try:
        # RFC 8941 asks parsers to tolerate missing padding, so pad before decoding strictly.
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except ValueError as error:
        raise ParseError("invalid base64 in byte sequence") from error


def serialize_inner_list(inner: InnerList) -> str:
    """RFC 8941 §4.1.1.1."""
    items = " ".join(serialize_item(item) for item in inner.items)
    return f"({items}){_serialize_params(inner.params)}"


def serialize_item(item: Item) -> str:
    return _serialize_bare(item.value) + _serialize_params(item.params)


def _serialize_params(params: Parameters) -> str:
    return "".join(f";{key}" if value is True else f";{key}={_serialize_bare(value)}"
                   for key, value in params.items())


def _serialize_bare(value: BareItem) -> str:
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "?1" if value else "?0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        text = format(value.quantize(Decimal("0.001"), ROUND_HALF_EVEN), "f").rstrip("0")
        return text + "0" if text.endswith(".") else text
    if isinstance(value, Token):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return ":" + base64.b64encode(value).decode("ascii") + ":"
