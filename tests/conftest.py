"""Shared test set-up: deterministic, single-threaded torch, plugins registered as a config would."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parent.parent

# Tests run on 2 cores, often beside other processes: one intra-op thread avoids oversubscription.
torch.set_num_threads(1)
os.environ.setdefault('CSA_DATA_ROOT', str(REPO_ROOT / 'data'))


@pytest.fixture(scope='session', autouse=True)
def _plugins_registered() -> None:
    """Import the plugin packages through the same path configs use (``custom_imports``)."""
    from csa_bench.plugin_loader import load_plugins

    load_plugins()


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope='session')
def synthetic_data_root(tmp_path_factory) -> Path:
    """A ``$CSA_DATA_ROOT`` holding the tiny synthetic LPR4M and MovingFashion benchmarks.

    Generated once per session by the real generator (``csa-bench data synth``), in the official
    formats, so tests exercise the real loaders, decoders and transforms.
    """
    from csa_bench.registry import DATA_TOOLS

    root = tmp_path_factory.mktemp('data')
    for fmt in ('lpr4m', 'movingfashion'):
        DATA_TOOLS.get(fmt).synthesize(root / f'synthetic-{fmt}', seed=0, size='tiny')
    return root


@pytest.fixture
def use_synthetic_data(synthetic_data_root, monkeypatch) -> Path:
    """Point ``$CSA_DATA_ROOT`` (read by every config) at the session's synthetic benchmark."""
    monkeypatch.setenv('CSA_DATA_ROOT', str(synthetic_data_root))
    return synthetic_data_root
