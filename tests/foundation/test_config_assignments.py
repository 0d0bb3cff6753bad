"""Every config file assigns each top-level name once.

mmengine executes a config file as Python and keeps the last value of each name: a second
``optim_wrapper = dict(...)`` silently replaces the first (its keys are lost, not merged), and
only the base files' values are merged in. So a name assigned twice at the top level of one file
is always a bug; this scans every file under ``configs/`` with ``ast``.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

CONFIG_ROOT = Path(__file__).resolve().parents[2] / 'configs'
CONFIG_FILES = sorted(CONFIG_ROOT.rglob('*.py'))


def _target_names(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, (ast.Tuple, ast.List)):
        return [name for elt in node.elts for name in _target_names(elt)]
    if isinstance(node, ast.Starred):
        return _target_names(node.value)
    return []  # attribute / subscript targets modify a value, they do not rebind a name


def top_level_assignments(source: str, filename: str) -> dict[str, list[int]]:
    """``{name: [line, ...]}`` of every name bound at the top level of ``source``."""
    lines: dict[str, list[int]] = {}
    for node in ast.parse(source, filename).body:
        if isinstance(node, ast.Assign):
            targets = [name for target in node.targets for name in _target_names(target)]
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = _target_names(node.target)
        else:
            continue
        for name in targets:
            lines.setdefault(name, []).append(node.lineno)
    return lines


def test_the_scan_finds_configs_and_catches_a_double_assignment() -> None:
    assert len(CONFIG_FILES) > 20
    found = top_level_assignments('a = 1\nb, a = 2, 3\nc: int = 4\nc += 1\nd.x = 5\n', 'x.py')
    assert {k: v for k, v in found.items() if len(v) > 1} == {'a': [1, 2], 'c': [3, 4]}


@pytest.mark.parametrize('path', CONFIG_FILES, ids=lambda p: str(p.relative_to(CONFIG_ROOT)))
def test_no_top_level_name_is_assigned_twice(path: Path) -> None:
    twice = {name: lines for name, lines in top_level_assignments(path.read_text(), str(path)).items()
             if len(lines) > 1}
    assert not twice, f'{path}: assigned more than once at the top level (the last value wins): {twice}'
