"""Fault: running csa-bench from a directory that holds someone's ``configs/`` and ``plugins/``.

``csa-bench list``, ``data check`` and ``data synth`` used to execute
``./configs/_base_/default_runtime.py`` from the current directory (issue 14, item 5). Each command
runs here in a subprocess (``python -m csa_bench``, which also puts the current directory first on
``sys.path``) from a folder whose runtime config, plugin packages and suite configs would each
write a marker file when executed: no marker may appear, and every command still works.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PAYLOAD = "open({marker!r}, 'a').write({tag!r} + '\\n')\n"


@pytest.fixture
def hostile_cwd(tmp_path: Path) -> tuple[Path, Path]:
    cwd, marker = tmp_path / 'cwd', tmp_path / 'EXECUTED'
    files = {
        'configs/_base_/default_runtime.py': "custom_imports = dict(imports=['evil_plugin'])\n",
        'configs/rice/rice-evil_synthetic-lpr4m.py': '',
        'plugins/__init__.py': '',
        'baselines/__init__.py': '',
        'evil_plugin/__init__.py': '',
    }
    for rel, extra in files.items():
        path = cwd / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(PAYLOAD.format(marker=str(marker), tag=rel) + extra)
    return cwd, marker


def _run(cwd: Path, *argv: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS='1')
    env.pop('CSA_BENCH_PLUGINS', None)
    return subprocess.run([sys.executable, '-m', 'csa_bench', *argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.slow
def test_commands_never_execute_code_from_the_current_directory(hostile_cwd) -> None:
    cwd, marker = hostile_cwd
    listed = _run(cwd, 'list', 'datasets')
    assert listed.returncode == 0, listed.stderr
    assert 'LPR4MDataset' in listed.stdout and 'MovingFashionDataset' in listed.stdout   # the project's plugins
    out = cwd / 'data' / 'synthetic-lpr4m'
    synth = _run(cwd, 'data', 'synth', '--format', 'lpr4m', '--size', 'tiny', '--out', str(out))
    assert synth.returncode == 0, synth.stderr
    check = _run(cwd, 'data', 'check', str(out), '--format', 'lpr4m', '--workers', '1')
    assert check.returncode == 0, check.stdout + check.stderr
    # reproduce globs the project's configs/, not ./configs (the hostile suite config is never loaded).
    dry = _run(cwd, 'reproduce', '--suite', 'csa-ablation', '--only', 'rice-icl_*', '--dry-run')
    assert dry.returncode == 0, dry.stderr
    assert 'rice-icl_clipvit-tiny' in dry.stdout and 'rice-evil' not in dry.stdout
    assert not marker.exists(), marker.read_text()


def test_plugins_load_from_the_project_even_when_the_cwd_shadows_them(hostile_cwd, monkeypatch) -> None:
    """In-process: with the hostile folder first on sys.path (as ``python -m`` puts it), the project's
    ``plugins`` is the one found; a plugin package that would still come from elsewhere is refused."""
    from csa_bench import plugin_loader

    cwd, marker = hostile_cwd
    monkeypatch.chdir(cwd)
    monkeypatch.delenv('CSA_BENCH_PLUGINS', raising=False)
    monkeypatch.setattr(sys, 'path', [str(cwd), *sys.path])
    assert plugin_loader.default_plugin_names() == ['plugins', 'baselines']
    with plugin_loader.project_first_on_path() as root:
        assert root == REPO
        import importlib.util
        assert Path(importlib.util.find_spec('plugins').origin).is_relative_to(REPO)
        assert str(cwd) not in sys.path
    assert sys.path[0] == str(cwd)   # restored
    with pytest.raises(plugin_loader.ProjectLayoutError, match="'evil_plugin' would be imported from"):
        plugin_loader._check_origin('evil_plugin', REPO)
    assert not marker.exists()


def test_missing_project_configs_is_a_clear_error(monkeypatch, tmp_path) -> None:
    from csa_bench import plugin_loader

    monkeypatch.setattr(plugin_loader, 'project_root', lambda: tmp_path)
    monkeypatch.delenv('CSA_BENCH_PLUGINS', raising=False)
    with pytest.raises(plugin_loader.ProjectLayoutError, match=r'configs: the csa_bench configs are not installed'):
        plugin_loader.default_plugin_names()
    monkeypatch.setenv('CSA_BENCH_PLUGINS', 'plugins,baselines')
    assert plugin_loader.default_plugin_names() == ['plugins', 'baselines']
