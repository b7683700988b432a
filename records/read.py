"""Reading the wrapper's records back: ``last-build.json`` and ``build-history.json``.

This is the one reader of both files and the one place that knows what older or
damaged files look like.  Files are data written by whoever could write the log
directory, so reading them costs bounded memory and never raises:

* at most ``MAX_RECORD_BYTES`` are read (a larger file is damaged), only from a regular
  file (a FIFO planted there would block forever);
* a value of the wrong type (a string ``buildDuration``, an object where a list
  belongs), a number JSON allows but Python cannot hold (``1e999``), nesting deeper
  than the decoder's limit, a path with a NUL byte: that key reads as its default and
  the rest of the record is kept;
* records of older versions (the original design's bash wrapper: no ``errorDetails``,
  no ``schemaVersion``, extra keys) read with defaults for what they lack;
* one damaged entry of the history is left out, not the whole history.

Absent is ``None`` / ``[]``; a history that is not a JSON list is ``None`` (the caller
says so)."""

from __future__ import annotations

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


def decode_json(data: bytes) -> Any:
    """Any JSON value; raises :class:`Damaged` for what is not JSON we can hold."""
    try:
        return msgspec.json.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as exc:
        raise Damaged(f"not JSON: {exc}") from None


# --- the one place for compatibility ------------------------------------------------------

def coerce(value: Any, kind: type[T]) -> T | None:
    """``value`` (decoded JSON) as the Struct ``kind``, field by field: a field whose
    value has the wrong type takes its default; a list of Structs keeps the entries
    that convert.  None when ``value`` is not an object or a required field is missing
    or wrong."""
    if not isinstance(value, dict):
        return None
    fields: dict[str, Any] = {}
    for field in msgspec.structs.fields(kind):
        if field.encode_name not in value:
            continue
        converted = _field(value[field.encode_name], field.type)
        if converted is not _BAD:
            if field.name in PATH_KEYS and isinstance(converted, str) and "\0" in converted:
                continue
            fields[field.name] = converted
    try:
        return kind(**fields)
    except TypeError:  # a required field missing
        return None


_BAD = object()


def _field(value: Any, annotation: Any) -> Any:
    try:
        return msgspec.convert(value, annotation)
    except (msgspec.ValidationError, RecursionError):
        pass
    struct = _struct_in(annotation)
    if struct is not None and isinstance(value, dict):
        return coerce(value, struct)
    element = _list_of_struct(annotation)
    if element is not None and isinstance(value, list):
        return [c for item in value if (c := coerce(item, element)) is not None]
    return _BAD


def _struct_in(annotation: Any) -> type[msgspec.Struct] | None:
    """The Struct in ``S`` or ``S | None``."""
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
    try:
        value = decode_json(data)
    except Damaged:
        return None
    record = coerce(value, LastBuild)
    if record is not None and "schemaVersion" not in value:
        record.schema_version = 0  # the original design's wrapper wrote none
    return record


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
    entries = []
    for raw in history_entries(data):
        try:
            value = msgspec.json.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            continue
        entry = coerce(value, HistoryEntry)
        if entry is not None:
            if "schemaVersion" not in value:
                entry.schema_version = 0  # the original design's wrapper wrote none
            entries.append(entry)
    return entries


def read_history(directory: Path) -> list[HistoryEntry] | None:
    """The history, oldest first; [] when there is none; None when it is damaged (not
    a JSON list, too large, not a file)."""
    try:
        data = read_capped(directory / HISTORY_JSON)
        return decode_history(data) if data is not None else []
    except Damaged:
        return None
