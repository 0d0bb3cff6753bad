"""Strict, safe parsing of the annotation files shared by the dataset plugins.

The official code reads list columns with ``eval`` and splits rows after ``line.strip()``, which
drops an empty last field (an empty ASR) and crashes later. Here list literals go through
``json.loads`` then ``ast.literal_eval`` (never ``eval``), only the newline is stripped, and every
failure names the file and line.
"""
from __future__ import annotations

import ast
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class AnnotationError(ValueError):
    """A malformed annotation file; the message starts with ``file:line:``."""


def where(path: str | os.PathLike, line: int | None = None) -> str:
    """``file:line`` (or ``file``) for error messages."""
    return f'{path}:{line}' if line is not None else str(path)


def parse_list_literal(text: str, path: str | os.PathLike, line: int | None = None) -> list:
    """Parse a JSON or Python list literal (``["a", "b"]`` or ``['a', 'b']``) safely.

    Raises:
        AnnotationError: the text is not a list literal.
    """
    text = text.strip()
    try:
        value = json.loads(text)
    except ValueError:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            raise AnnotationError(f'{where(path, line)}: not a list literal: {text[:80]!r}') from None
    if not isinstance(value, (list, tuple)):
        raise AnnotationError(f'{where(path, line)}: expected a list, got {type(value).__name__}: {text[:80]!r}')
    return list(value)


def read_tsv(path: str | os.PathLike, columns: int | tuple[int, ...]) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line_number, fields)`` for each non-empty row of a tab-separated file.

    Only the line terminator is stripped, so trailing empty fields survive.

    Args:
        path: the file.
        columns: the allowed column count(s).

    Raises:
        AnnotationError: the file is missing or a row has a column count not in ``columns``.
    """
    allowed = (columns,) if isinstance(columns, int) else tuple(columns)
    path = Path(path)
    if not path.is_file():
        raise AnnotationError(f'{path}: annotation file not found')
    with path.open(encoding='utf-8', newline='') as handle:
        for number, raw in enumerate(handle, start=1):
            row = raw.rstrip('\r\n')
            if not row:
                continue
            fields = row.split('\t')
            if len(fields) not in allowed:
                want = ' or '.join(str(c) for c in allowed)
                raise AnnotationError(f'{where(path, number)}: expected {want} tab-separated columns, '
                                      f'got {len(fields)}')
            yield number, fields


def read_lines(path: str | os.PathLike) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` for each non-empty line, newline stripped."""
    path = Path(path)
    if not path.is_file():
        raise AnnotationError(f'{path}: annotation file not found')
    with path.open(encoding='utf-8', newline='') as handle:
        for number, raw in enumerate(handle, start=1):
            row = raw.rstrip('\r\n')
            if row:
                yield number, row


def load_json(path: str | os.PathLike) -> Any:
    """Load a JSON file; a missing or malformed file is an :class:`AnnotationError` naming it."""
    path = Path(path)
    if not path.is_file():
        raise AnnotationError(f'{path}: annotation file not found')
    try:
        with path.open(encoding='utf-8') as handle:
            return json.load(handle)
    except json.JSONDecodeError as exc:
        raise AnnotationError(f'{where(path, exc.lineno)}: invalid JSON ({exc.msg})') from None


def expect_type(value: Any, kind: type | tuple[type, ...], path: str | os.PathLike, key: str) -> Any:
    """Return ``value`` if it is a ``kind``, else raise an error naming the file and key."""
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else '/'.join(k.__name__ for k in kind)
        raise AnnotationError(f'{path}: key {key!r}: expected {names}, got {type(value).__name__}')
    return value


def parse_int(text: str, path: str | os.PathLike, line: int, column: str) -> int:
    """``int(text)`` with an error naming the file, line and column."""
    try:
        return int(text)
    except ValueError:
        raise AnnotationError(f'{where(path, line)}: column {column}: expected an integer, '
                              f'got {text[:40]!r}') from None


def dash_prefix(name: str, fields: int = 5) -> str:
    """The first ``fields`` dash-separated fields of ``name`` (the LPR4M live / image id rule)."""
    return '-'.join(name.split('-')[:fields])
