"""Config files: TOML read with the standard library, validated against declared tables.

A schema is a :class:`Table` of named entries, each a :class:`Field` (a typed value with a
default, or required) or another :class:`Table`; an *open* table takes any key and validates
each value against its ``entry`` schema (e.g. one table per sweep axis).  :func:`validate`
returns the config with every default filled in, or raises :class:`ConfigError` naming the
dotted key: an unknown key (with the known ones), a wrong type, a value out of range or a
missing field.  Nothing is compiled before a config has passed.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["ConfigError", "Field", "Table", "validate", "read_config", "read_toml", "REQUIRED"]

REQUIRED = object()
_TYPE_NAMES = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
               dict: "a table"}


class ConfigError(ValueError):
    """A config file or table that does not match its schema (the message names the key)."""


@dataclass(frozen=True)
class Field:
    """One typed config value.

    Args:
        kind: ``bool``, ``int``, ``float`` (an int is accepted), ``str``, ``list`` or a tuple
            of these (any of them).
        default: the value when the key is absent (:data:`REQUIRED`: it must be given).
        doc: one line for ``--help`` and ``mfjax config show``.
        choices: allowed values.
        items: for lists, the kind of every item.
        minimum, maximum: bounds for numbers (inclusive) and for list lengths (``min_items``).
        check: a function value -> error text or ``None``.
    """

    kind: type | tuple
    default: object = REQUIRED
    doc: str = ""
    choices: tuple | None = None
    items: type | tuple | None = None
    minimum: float | None = None
    maximum: float | None = None
    min_items: int = 0
    check: Callable | None = None


@dataclass(frozen=True)
class Table:
    """A table of named entries (``fields``), or an open table (``entry``: the schema of every
    value, any key allowed)."""

    fields: dict = field(default_factory=dict)
    doc: str = ""
    entry: object = None
    required: bool = False


def _kinds(kind) -> tuple:
    return kind if isinstance(kind, tuple) else (kind,)


def _is(value, kind) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, kind)


def _type_text(kind) -> str:
    return " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in _kinds(kind))


def _value(spec: Field, value, where: str):
    if not any(_is(value, k) for k in _kinds(spec.kind)):
        raise ConfigError(f"{where}: expected {_type_text(spec.kind)}, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where}: must be finite, got {value!r}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if spec.minimum is not None and value < spec.minimum:
            raise ConfigError(f"{where}: must be >= {spec.minimum}, got {value!r}")
        if spec.maximum is not None and value > spec.maximum:
            raise ConfigError(f"{where}: must be <= {spec.maximum}, got {value!r}")
    if isinstance(value, list):
        if len(value) < spec.min_items:
            raise ConfigError(f"{where}: needs at least {spec.min_items} items, got {len(value)}")
        if spec.items is not None:
            for i, item in enumerate(value):
                _value(Field(spec.items, minimum=spec.minimum, maximum=spec.maximum), item, f"{where}[{i}]")
    if spec.choices is not None and value not in spec.choices:
        raise ConfigError(f"{where}: must be one of {', '.join(map(repr, spec.choices))}, got {value!r}")
    if spec.check is not None and (why := spec.check(value)):
        raise ConfigError(f"{where}: {why}")
    return float(value) if _kinds(spec.kind) == (float,) else value


def validate(data, schema: Table, where: str = "") -> dict:
    """``data`` checked against ``schema`` with every default filled in (module docstring)."""
    name = where or "the config"
    if not isinstance(data, dict):
        raise ConfigError(f"{name}: expected a table, got {data!r}")
    if schema.entry is not None:
        return {k: _entry(schema.entry, v, f"{where}.{k}" if where else k) for k, v in data.items()}
    unknown = sorted(set(data) - set(schema.fields))
    if unknown:
        known = ", ".join(sorted(schema.fields)) or "none"
        raise ConfigError(f"{name}: unknown key {'.'.join(filter(None, [where, unknown[0]]))!r} (known keys: {known})")
    out = {}
    for key, spec in schema.fields.items():
        path = f"{where}.{key}" if where else key
        if key in data:
            out[key] = _entry(spec, data[key], path)
        elif isinstance(spec, Table):
            if spec.required:
                raise ConfigError(f"{path}: missing table [{path}]")
            out[key] = validate({}, spec, path)
        elif spec.default is REQUIRED:
            raise ConfigError(f"{path}: missing (required{': ' + spec.doc if spec.doc else ''})")
        else:
            out[key] = spec.default
    return out


def _entry(spec, value, path: str):
    return validate(value, spec, path) if isinstance(spec, Table) else _value(spec, value, path)


def read_config(path) -> tuple[dict, str]:
    """The TOML file at ``path`` as a dict, and its text (``ConfigError`` naming the file, and
    the line of a syntax error)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise ConfigError(f"cannot read config {path}: {err.strerror}") from None
    return parse_toml(text, str(path)), text


def read_toml(path) -> dict:
    """The TOML file at ``path`` as a dict (:func:`read_config` without the text)."""
    return read_config(path)[0]


def parse_toml(text: str, name: str = "config") -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{name}: not valid TOML ({err})") from None


def describe(schema: Table, where: str = "") -> list[str]:
    """One line per key of ``schema``: dotted name, type, default and doc (for ``--help``)."""
    lines = []
    for key, spec in schema.fields.items():
        path = f"{where}.{key}" if where else key
        if isinstance(spec, Table):
            lines.append(f"[{path}]  {spec.doc}".rstrip())
            if spec.entry is not None:
                sub = spec.entry
                lines.append(f"  {path}.NAME: {sub.doc if isinstance(sub, Table) else sub.doc}".rstrip())
                if isinstance(sub, Table):
                    lines += ["  " + line for line in describe(sub, f"{path}.NAME")]
            else:
                lines += describe(spec, path)
        else:
            default = "required" if spec.default is REQUIRED else f"default {spec.default!r}"
            choices = f"; one of {', '.join(map(repr, spec.choices))}" if spec.choices else ""
            lines.append(f"  {path} ({_type_text(spec.kind)}, {default}{choices}): {spec.doc}".rstrip())
    return lines
