"""What-to-do hints appended to errors about missing inputs (one line each; nothing here raises).

Kept in one place so that every encoder names the same variable, default and document.
"""
from __future__ import annotations

import os
from pathlib import Path

#: Where ``docs/weights.md`` lists each weight file, the configs that need it and where to get it.
WEIGHTS_DOC = 'docs/weights.md'


def env_value(name: str, default: str) -> str:
    """``$NAME`` as the configs see it: its value, or that it is unset and the configs use ``default``."""
    value = os.environ.get(name)
    return f'${name}={value}' if value else f'${name} is unset, so configs use {default}/'


def missing_weights(what: str, path: str | os.PathLike) -> str:
    """``'<what> not found at <path>: ...'`` naming the file, ``$CSA_PRETRAINED`` and the docs."""
    path = Path(path)
    return (f'{what} not found at {path}: put {path.name} there, or point $CSA_PRETRAINED at the folder '
            f'holding it ({env_value("CSA_PRETRAINED", "pretrained")}); {WEIGHTS_DOC} says where to get '
            f'{path.name}; weights load from a local path only, nothing is downloaded')
