"""Liberal request parsing: apps send the same parameters as a query string, a form, multipart
or JSON, with Rails-style brackets (`media_ids[]`, `poll[options][]`, `fields_attributes[0][name]`)
and booleans spelt every way. Everything lands in one nested dict; unknown keys are ignored.
"""

from __future__ import annotations

import json
import re

from starlette.requests import Request

from smallfedi.core.errors import BadRequest, Invalid

MAX_JSON_DEPTH = 20
MAX_KEYS = 500
_KEY_RE = re.compile(r"\[([^\]]*)\]")
TRUE = {"true", "1", "on", "yes", "t"}
FALSE = {"false", "0", "off", "no", "f", "", "none", "null"}


def _insert(target: dict, key: str, value) -> None:
    """`a[b][]=v` into {"a": {"b": [v]}}; `a[0][name]` makes a dict keyed "0"; `a[][k]` a list
    of dicts."""
    head, _, rest = key.partition("[")
    parts = [head] + (_KEY_RE.findall("[" + rest) if rest else [])
    node = target
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        nxt = parts[i + 1] if not last else None
        if last:
            if isinstance(node, list):
                node.append(value)
            elif part in node and isinstance(node[part], list):
                node[part].append(value)
            else:
                node[part] = value
            return
        if nxt == "":
            # `a[]` (possibly the last part): a list under `part`.
            if not isinstance(node.get(part) if isinstance(node, dict) else None, list):
                node[part] = []
            if i + 1 == len(parts) - 1:
                node[part].append(value)
                return
            node = node[part]
            continue
        if isinstance(node, list):
            # As Rails: `a[][x]=1&a[][y]=2&a[][x]=3` is [{x: 1, y: 2}, {x: 3}]; a key the last
            # item already has starts the next one.
            child = node[-1] if node and isinstance(node[-1], dict) and nxt not in node[-1] else None
            if child is None:
                child = {}
                node.append(child)
            node = child
            continue
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]


def _depth(value, level: int = 0) -> int:
    if level > MAX_JSON_DEPTH:
        return level
    if isinstance(value, dict):
        return max([_depth(v, level + 1) for v in value.values()] or [level])
    if isinstance(value, list):
        return max([_depth(v, level + 1) for v in value] or [level])
    return level


class Params:
    def __init__(self, data: dict, files: dict | None = None) -> None:
        self.data = data
        self.files = files or {}

    def __contains__(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, default=None):
        return self.data.get(key, default)

    def str(self, key: str, default: str | None = None) -> str | None:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, list):
            value = value[0] if value else default
        if isinstance(value, (dict, list)):
            raise BadRequest(f"{key} must be a string")
        return str(value) if not isinstance(value, bool) else ("true" if value else "false")

    def bool(self, key: str, default: bool = False) -> bool:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            return bool(value)
        text = str(value).strip().lower()
        if text in TRUE:
            return True
        if text in FALSE:
            return False
        raise BadRequest(f"{key} must be true or false")

    def int(self, key: str, default: int | None = None) -> int | None:
        value = self.data.get(key)
        if value is None or value == "":
            return default
        try:
            return int(str(value).strip())
        except ValueError:
            raise BadRequest(f"{key} must be a number") from None

    def id(self, key: str) -> int | None:
        """A paging cursor or an entity id: digits, or absent. Anything else matches nothing."""
        value = self.data.get(key)
        if value is None or value == "":
            return None
        text = str(value).strip()
        if not text.isdigit() or len(text) > 19:
            raise BadRequest(f"{key} must be an id")
        return int(text)

    def list(self, key: str) -> list:
        """`key[]=a&key[]=b`, `key=a`, JSON arrays, or a dict of `key[0]`, `key[1]`."""
        value = self.data.get(key)
        if value is None:
            return []
        if isinstance(value, list):
            return value
        if isinstance(value, dict):
            return [value[k] for k in sorted(value, key=lambda k: (len(k), k))]
        return [value]

    def dict(self, key: str) -> dict:
        value = self.data.get(key)
        return value if isinstance(value, dict) else {}


async def read_params(request: Request, max_files: int = 0) -> Params:
    """Query parameters, overlaid by the body's (whatever its encoding)."""
    data: dict = {}
    files: dict = {}
    for key, value in request.query_params.multi_items():
        _insert(data, key, value)
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype == "application/json" or ctype.endswith("+json"):
            body = await request.body()
            if body.strip():
                try:
                    parsed = json.loads(body)
                except (ValueError, RecursionError):
                    raise BadRequest("The body is not valid JSON.") from None
                if not isinstance(parsed, dict):
                    raise BadRequest("The JSON body must be an object.")
                if _depth(parsed) > MAX_JSON_DEPTH:
                    raise BadRequest("The JSON body is nested too deeply.")
                data.update(parsed)
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            try:
                form = await request.form(max_files=max_files, max_fields=MAX_KEYS)
            except Exception as exc:  # noqa: BLE001 - the parser's errors vary by version
                raise BadRequest(f"The form could not be read: {exc}") from None
            for key, value in form.multi_items():
                if hasattr(value, "filename") and hasattr(value, "read"):
                    files[key] = value
                else:
                    _insert(data, key, value)
    if len(data) > MAX_KEYS:
        raise Invalid("Too many parameters.")
    return Params(data, files)
