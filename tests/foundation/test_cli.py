"""The CLI through main([...]): discovery, list, and one-line errors instead of tracebacks."""
from __future__ import annotations

import pytest

from csa_bench.cli import build_parser, main

EXPECTED_COMMANDS = {'train', 'test', 'list', 'data', 'score', 'show', 'leaderboard', 'reproduce', 'bench'}


def _commands() -> set[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == 'command')
    return set(sub.choices)


def test_every_subcommand_is_discovered() -> None:
    assert EXPECTED_COMMANDS <= _commands()


def test_list_shows_registered_plugins(capsys) -> None:
    assert main(['list']) == 0
    out = capsys.readouterr().out
    for name in ('VideoShopRetriever', 'RetrievalDataPreprocessor', 'ICLLoss', 'RetrievalMetric'):
        assert name in out


def test_list_unknown_registry_is_one_line(capsys) -> None:
    assert main(['list', 'nonsense']) == 2
    err = capsys.readouterr().err
    assert 'unknown registry' in err and 'Traceback' not in err


def test_missing_config_is_one_line(capsys, tmp_path) -> None:
    assert main(['train', str(tmp_path / 'nope.py')]) == 2
    err = capsys.readouterr().err
    assert 'nope.py does not exist' in err and 'Traceback' not in err


def test_missing_checkpoint_is_one_line(capsys, repo_root, tmp_path) -> None:
    config = sorted((repo_root / 'configs').glob('*/*synthetic*.py'))[0]
    assert main(['test', str(config), str(tmp_path / 'iter_9.pth'), '--work-dir', str(tmp_path)]) == 2
    assert 'iter_9.pth does not exist' in capsys.readouterr().err


def test_unknown_plugin_name_is_one_line(capsys, tmp_path, repo_root) -> None:
    config = tmp_path / 'bad.py'
    runtime = repo_root / 'configs/_base_/default_runtime.py'
    config.write_text(
        f"_base_ = ['{runtime}']\n"
        "model = dict(type='NoSuchRetriever')\n"
        "train_dataloader = dict(batch_size=1, dataset=dict(type='NoSuchDataset'),\n"
        "                        sampler=dict(type='DefaultSampler'))\n"
        "train_cfg = dict(type='IterBasedTrainLoop', max_iters=1)\n"
        "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))\n")
    code = main(['train', str(config), '--work-dir', str(tmp_path / 'wd')])
    err = capsys.readouterr().err
    assert code == 2
    assert 'NoSuch' in err and 'csa-bench list' in err and 'Traceback' not in err


def test_help_runs(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(['--help'])
    assert info.value.code == 0
    assert 'train' in capsys.readouterr().out
