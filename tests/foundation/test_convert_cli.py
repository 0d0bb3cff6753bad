"""``csa-bench convert`` and ``csa-bench test`` on an official file, end to end on the synthetic benchmark."""
from __future__ import annotations

import pytest
import torch
from mmengine.runner import Runner

from csa_bench.checkpoints import ConversionError
from csa_bench.cli import build_parser, main
from tests.csa import official_mmf_layout as ref

CONFIG = 'configs/rice/rice-icl-pmd-pfr_clipvit-tiny_4f_1xb16-1000it_synthetic-lpr4m.py'


@pytest.fixture(autouse=True)
def _drop_stale_log_streams():
    """Detach mmengine loggers from this test's captured stderr afterwards (see tests/reliability/conftest.py)."""
    yield
    import logging

    from mmengine.logging import MMLogger

    for logger in MMLogger._instance_dict.values():
        for handler in list(logger.handlers):
            if type(handler) is logging.StreamHandler:
                logger.removeHandler(handler)


def test_convert_is_a_subcommand() -> None:
    sub = next(a for a in build_parser()._actions if a.dest == 'command')
    assert 'convert' in sub.choices


@pytest.fixture
def official_file(tmp_path):
    path = tmp_path / 'rice_final.pth'
    torch.save(ref.official_state(pmd=True, pfr=True), path)
    return path


@pytest.fixture
def tested_states(monkeypatch) -> list[dict]:
    """The model weights every ``Runner.test`` in this test evaluated with."""
    seen: list[dict] = []
    original = Runner.test

    def spy(self):
        metrics = original(self)  # the runner loads a suite checkpoint inside test()
        seen.append({k: v.detach().clone() for k, v in self.model.state_dict().items()})
        return metrics

    monkeypatch.setattr(Runner, 'test', spy)
    return seen


@pytest.mark.slow
def test_convert_then_test_both_load_strictly(official_file, tmp_path, use_synthetic_data, capsys,
                                              tested_states) -> None:
    dst = tmp_path / 'converted.pth'
    assert main(['convert', str(official_file), str(dst), '--config', CONFIG]) == 0
    out = capsys.readouterr().out
    assert 'rice-mmf' in out and 'dropped 4 official key(s)' in out and 'why:' in out
    assert 'transformer.transformer.embeddings.class_embedding' in out

    saved = torch.load(dst, weights_only=True)  # data only: nothing but tensors, strings and containers
    assert set(saved) == {'meta', 'state_dict'} and saved['meta']['converter'] == 'rice-mmf'
    assert saved['meta']['source_name'] == 'rice_final.pth'

    assert main(['test', CONFIG, str(dst), '--work-dir', str(tmp_path / 'wd_dst')]) == 0
    assert main(['test', CONFIG, str(official_file), '--work-dir', str(tmp_path / 'wd_src')]) == 0
    assert len(tested_states) == 2
    for state in tested_states:  # both runs evaluated exactly the converted weights
        assert state.keys() == saved['state_dict'].keys()
        for key, value in saved['state_dict'].items():
            assert torch.equal(state[key], value), key
    out = capsys.readouterr().out
    assert out.count('R@1') >= 2


def test_convert_refuses_to_overwrite(official_file, tmp_path, capsys) -> None:
    dst = tmp_path / 'converted.pth'
    dst.write_bytes(b'mine')
    assert main(['convert', str(official_file), str(dst), '--config', CONFIG]) == 2
    assert 'exists; pass --force' in capsys.readouterr().err
    assert dst.read_bytes() == b'mine'
    assert main(['convert', str(official_file), str(official_file), '--config', CONFIG, '--force']) == 2
    assert 'is the source file' in capsys.readouterr().err
    assert main(['convert', str(official_file), str(dst), '--config', CONFIG, '--force']) == 0
    assert torch.load(dst, weights_only=True)['meta']['converter'] == 'rice-mmf'


def test_convert_mismatch_is_one_line_and_writes_nothing(official_file, tmp_path, capsys) -> None:
    dst = tmp_path / 'converted.pth'
    icl_only = CONFIG.replace('icl-pmd-pfr', 'icl')
    assert main(['convert', str(official_file), str(dst), '--config', icl_only]) == 2
    err = capsys.readouterr().err
    assert 'rice_final.pth' in err and 'ICL+PMD+PFR row' in err and 'Traceback' not in err
    assert not dst.exists() and list(tmp_path.iterdir()) == [official_file]


def test_test_on_a_mismatching_official_file_is_one_line(official_file, tmp_path, capsys,
                                                         use_synthetic_data) -> None:
    icl_only = CONFIG.replace('icl-pmd-pfr', 'icl')
    assert main(['test', icl_only, str(official_file), '--work-dir', str(tmp_path / 'wd')]) == 2
    err = capsys.readouterr().err
    assert 'rice_final.pth' in err and 'ICL+PMD+PFR row' in err and 'Traceback' not in err


@pytest.mark.parametrize('extra, message', [
    (ConversionError('a pickled object of our own class'), 'refusing to unpickle'),  # weights_only refuses it
    ('some text', "entry 'note' is a str, not a tensor"),  # loads as data, but is not a state dict
])
def test_convert_refuses_what_is_not_a_state_dict(tmp_path, capsys, extra, message: str) -> None:
    src = tmp_path / 'rice_final.pth'
    torch.save({'module.transformer.logit_scale': torch.zeros(()), 'note': extra}, src)
    assert main(['convert', str(src), str(tmp_path / 'out.pth'), '--config', CONFIG]) == 2
    err = capsys.readouterr().err
    assert message in err and 'rice_final.pth' in err and 'Traceback' not in err
    assert not (tmp_path / 'out.pth').exists()
