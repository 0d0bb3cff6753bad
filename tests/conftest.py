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
