"""Text from result files, made safe to print in generated markdown (GitHub renders it as HTML).

Every field a result file or ``reported.yaml`` supplies goes through :func:`text` or :func:`code`
before it reaches ``LEADERBOARD.md`` or the README block:

- :func:`text`: one line (newlines and control characters become spaces); ``&``, ``<``, ``>`` become
  HTML entities (no tag, comment or README marker can be formed); backslash, backtick, ``*``, ``[``,
  ``]``, ``~``, ``|`` and a word-boundary ``_`` are backslash-escaped (no code span, emphasis, link,
  image or table cell can be opened). Intra-word ``_`` (``gallery_main.txt``) renders as written.
- :func:`code`: a code span when the value only holds characters that cannot end or escape one
  (letters, digits, space and ``._-+=@/:,()[]#``), else :func:`text` (a code span shows ``&lt;``
  literally, so a hostile value would stay readable but unescapable only as plain text).
"""
from __future__ import annotations

import re

_CONTROL = re.compile(r'[\x00-\x1f\x7f\u2028\u2029]+')
_MARKDOWN = re.compile(r'([\\`*\[\]~|])')
_EDGE_UNDERSCORE = re.compile(r'(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])')
_CODE_SAFE = re.compile(r'^[A-Za-z0-9 ._\-+=@/:,()\[\]#]*$')


def text(value: object) -> str:
    """``value`` as inert one-line markdown text (rules in the module docstring)."""
    out = _CONTROL.sub(' ', str(value))
    out = out.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')
    out = _MARKDOWN.sub(r'\\\1', out)
    return _EDGE_UNDERSCORE.sub(r'\\_', out)


def code(value: object) -> str:
    """``value`` in a code span when that is safe, else as :func:`text`."""
    raw = str(value)
    return f'`{raw}`' if raw and _CODE_SAFE.match(raw) else text(raw)
