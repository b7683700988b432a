"""Reading the wrapper's records back: ``last-build.json`` and ``build-history.json``.

This is the one reader of both files and the one place that knows what older or
damaged files look like.  Files are data written by whoever could write the log
directory, so reading them costs bounded memory and never raises:

* at most ``MAX_RECORD_BYTES`` are read (a larger file is damaged), only from a regular
  file (a FIFO planted there would block forever);
* a value of the wrong type (a string ``buildDuration``, an object where a list
  belongs), a number JSON allows but Python cannot hold (``1e999``), a path with a NUL
  byte: that key reads as its default and the rest of the record is kept; a file
  nested deeper than the decoder's limit is damaged;
* records of older versions (the original design's bash wrapper: no ``errorDetails``,
  no ``schemaVersion``, so version 0; extra keys) read with defaults for what they
  lack;
* one damaged entry of the history is left out, not the whole history.

Absent is ``None`` / ``[]``; a history that is not a JSON list is ``None`` (the caller
says so)."""

from __future__ import annotations

import functools
import os
import stat
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from records.logdir import HISTORY_JSON, LAST_BUILD_JSON
from records.schema import HistoryEntry, LastBuild

MAX_RECORD_BYTES = 16 << 20
# Keys that name files: a NUL byte there is no path at all (and os.stat raises on it).
PATH_KEYS = frozenset({"flake_path", "build_log_path", "log_dir"})

T = TypeVar("T", bound=msgspec.Struct)


class Damaged(Exception):
    """The file exists but is not a record (too large, not a regular file, not JSON)."""


def read_capped(path: Path, limit: int = MAX_RECORD_BYTES) -> bytes | None:
    """The bytes of the regular file ``path``; None when it does not exist.  Raises
    :class:`Damaged` when it is larger than ``limit`` or not a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise Damaged(exc.strerror or str(exc)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Damaged("not a regular file")
        if info.st_size > limit:
            raise Damaged(f"larger than {limit >> 20} MiB")
        chunks, size = [], 0
        while size <= limit and (chunk := os.read(fd, min(1 << 20, limit + 1 - size))):
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise Damaged(f"larger than {limit >> 20} MiB")
        return b"".join(chunks)
    except OSError as exc:
        raise Damaged(exc.strerror or str(exc)) from None
    finally:
        os.close(fd)


# --- the one place for compatibility ------------------------------------------------------

def decode_as(data: bytes, kind: type[T]) -> T | None:
    """The JSON object ``data`` as the Struct ``kind``, field by field: a field whose
    value has the wrong type or cannot be held (``1e999``) takes its default; a list of
    Structs keeps the entries that decode; unknown keys are ignored.  None when
    ``data`` is not a JSON object (or nests deeper than the decoder's limit), or a
    required field is missing or wrong."""
    try:  # the common case, a file as we write it: one typed decode, in C
        whole = msgspec.json.decode(data, type=kind)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        pass
    else:
        if not any(_nul_path(getattr(whole, k, None)) for k in PATH_KEYS):
            return whole
    try:
        members = msgspec.json.decode(data, type=dict[str, msgspec.Raw])
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None
    fields: dict[str, Any] = {}
    for field in _fields(kind):
        raw = members.get(field.encode_name)
        if raw is None:
            continue
        value = _decode_field(raw, field.type)
        if value is _BAD or (field.name in PATH_KEYS and _nul_path(value)):
            continue
        fields[field.name] = value
    try:
        return kind(**fields)
    except TypeError:  # a required field missing
        return None


_BAD = object()


def _nul_path(value: object) -> bool:
    return isinstance(value, str) and "\0" in value


@functools.cache
def _fields(kind: type[msgspec.Struct]) -> tuple[msgspec.structs.FieldInfo, ...]:
    return msgspec.structs.fields(kind)


def _decode_field(raw: bytes, annotation: Any) -> Any:
    try:
        return msgspec.json.decode(raw, type=annotation)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        pass
    element = _list_of_struct(annotation)
    if element is not None:
        try:
            items = msgspec.json.decode(raw, type=list[msgspec.Raw])
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            return _BAD
        return [d for item in items if (d := decode_as(item, element)) is not None]
    struct = _struct_in(annotation)
    if struct is not None:
        value = decode_as(raw, struct)
        return value if value is not None else _BAD
    return _BAD


def _struct_in(annotation: Any) -> type[msgspec.Struct] | None:
    """The Struct in ``S`` or ``S | None``."""
    if getattr(annotation, "__origin__", None) in (list, dict, tuple):
        return None  # a container of Structs is not one
    options = getattr(annotation, "__args__", None) or (annotation,)
    for option in options:
        if isinstance(option, type) and issubclass(option, msgspec.Struct):
            return option
    return None


def _list_of_struct(annotation: Any) -> type[msgspec.Struct] | None:
    if getattr(annotation, "__origin__", None) is list:
        return _struct_in(annotation.__args__[0])
    return None


# --- the files ----------------------------------------------------------------------------

def decode_last_build(data: bytes) -> LastBuild | None:
    return decode_as(data, LastBuild)


def read_last_build(directory: Path) -> LastBuild | None:
    """The last build's record; None when absent or damaged."""
    try:
        data = read_capped(directory / LAST_BUILD_JSON)
    except Damaged:
        return None
    return decode_last_build(data) if data is not None else None


def history_entries(data: bytes) -> list[msgspec.Raw]:
    """The entries of a history file, each still undecoded (the wrapper appends to the
    list without decoding what it does not need).  Raises :class:`Damaged` when the
    file is not a JSON list."""
    if not data.strip():
        return []
    try:
        return msgspec.json.decode(data, type=list[msgspec.Raw])
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as exc:
        raise Damaged(f"not a JSON list: {exc}") from None


def decode_history(data: bytes) -> list[HistoryEntry]:
    """The entries that read as builds, oldest first.  Raises :class:`Damaged`."""
    return [entry for raw in history_entries(data)
            if (entry := decode_as(raw, HistoryEntry)) is not None]


def read_history(directory: Path) -> list[HistoryEntry] | None:
    """The history, oldest first; [] when there is none; None when it is damaged (not
    a JSON list, too large, not a file)."""
    try:
        data = read_capped(directory / HISTORY_JSON)
        return decode_history(data) if data is not None else []
    except Damaged:
        return None
