"""Fixture trees shared by the dataset tests (written into tmp_path; nothing downloads)."""
from __future__ import annotations

from pathlib import Path

import pytest

from . import dataset_fixtures as fixtures


@pytest.fixture
def lpr750k_root(tmp_path: Path) -> Path:
    return fixtures.write_lpr750k(tmp_path / 'lpr750k')


@pytest.fixture
def lpr4m_full_root(tmp_path: Path) -> Path:
    return fixtures.write_lpr4m_full(tmp_path / 'lpr4m_full')


@pytest.fixture
def mf_root(tmp_path: Path) -> Path:
    return fixtures.write_movingfashion(tmp_path / 'mf')


@pytest.fixture
def mf_prepared_root(tmp_path: Path) -> Path:
    return fixtures.write_mf_prepared(tmp_path / 'mf_prepared')


@pytest.fixture(scope='session')
def synth_lpr4m(tmp_path_factory) -> Path:
    from csa_bench.plugin_loader import load_plugins
    from csa_bench.registry import DATA_TOOLS

    load_plugins()
    out = tmp_path_factory.mktemp('synth') / 'lpr4m'
    DATA_TOOLS.get('lpr4m').synthesize(out, 0, 'tiny')
    return out


@pytest.fixture(scope='session')
def synth_mf(tmp_path_factory) -> Path:
    from csa_bench.plugin_loader import load_plugins
    from csa_bench.registry import DATA_TOOLS

    load_plugins()
    out = tmp_path_factory.mktemp('synth') / 'mf'
    DATA_TOOLS.get('movingfashion').synthesize(out, 0, 'tiny')
    return out
