"""Errors about missing inputs say what to do (issue 17): the variable or command that fixes them."""
from __future__ import annotations

from pathlib import Path

import pytest

from csa_bench.cli import main

REPO = Path(__file__).resolve().parents[2]
SYNTHETIC_MF = REPO / 'configs' / 'rice' / 'rice-icl_clipvit-tiny_4f_1xb16-1000it_synthetic-movingfashion.py'
SYNTHETIC_LPR = REPO / 'configs' / 'rice' / 'rice-icl_clipvit-tiny_4f_1xb16-1000it_synthetic-lpr4m.py'
FULL_LPR = REPO / 'configs' / 'rice' / 'rice-icl_clipvit-b32_10f_4xb24-5k_lpr4m.py'


def _error(capsys) -> str:
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith('error:')]
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize(('config', 'fmt'), [(SYNTHETIC_MF, 'movingfashion'), (SYNTHETIC_LPR, 'lpr4m')])
def test_missing_synthetic_data_names_the_synth_command(config: Path, fmt: str, tmp_path: Path, monkeypatch,
                                                        capsys) -> None:
    monkeypatch.setenv('CSA_DATA_ROOT', str(tmp_path / 'nodata'))
    monkeypatch.chdir(tmp_path)
    assert main(['test', str(config), '--work-dir', str(tmp_path / 'work')]) == 2
    line = _error(capsys)
    root = tmp_path / 'nodata' / f'synthetic-{fmt}'
    assert f'`csa-bench data synth --format {fmt} --out {root}`' in line
    assert f'$CSA_DATA_ROOT={tmp_path / "nodata"}' in line


def test_missing_real_data_names_the_release_and_the_variable(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv('CSA_DATA_ROOT', str(tmp_path / 'nodata'))
    monkeypatch.chdir(tmp_path)
    from csa_bench.cli._hints import data_hint, missing_data_hint

    hint = data_hint(tmp_path / 'nodata' / 'lpr4m')
    assert 'official lpr4m release' in hint and '$CSA_DATA_ROOT' in hint and 'data synth' not in hint
    args = type('Args', (), {'config': str(FULL_LPR), 'cfg_options': None})()
    message = f'{tmp_path}/nodata/lpr4m/annotations: no LPR4M test annotations found (neither ...)'
    assert missing_data_hint(args, message) == data_hint(tmp_path / 'nodata' / 'lpr4m')
    assert missing_data_hint(args, 'row 3: bad id') == ''          # not about missing data: no hint


def test_missing_weights_name_the_file_the_variable_and_the_docs(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv('CSA_PRETRAINED', str(tmp_path / 'noweights'))
    monkeypatch.setenv('CSA_DATA_ROOT', str(tmp_path / 'nodata'))
    monkeypatch.chdir(tmp_path)
    assert main(['test', str(FULL_LPR), '--work-dir', str(tmp_path / 'work')]) == 2
    line = _error(capsys)
    assert str(tmp_path / 'noweights' / 'ViT-B-32.pt') in line
    assert '$CSA_PRETRAINED' in line and 'docs/weights.md' in line
    assert (REPO / 'docs' / 'weights.md').is_file() and 'ViT-B-32.pt' in (REPO / 'docs' / 'weights.md').read_text()


def _lpr750k(root: Path) -> Path:
    (root / 'annotations').mkdir(parents=True)
    (root / 'annotations' / 'gallery_main.txt').write_text('live-1/img-0.jpg\n')
    return root


def _mf_raw(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / 'test.json').write_text('{}')
    return root


@pytest.mark.parametrize(('make', 'wrong', 'right', 'layout'),
                         [(_lpr750k, 'movingfashion', 'lpr4m', 'lpr750k'), (_mf_raw, 'lpr4m', 'movingfashion', 'raw')])
def test_data_check_with_the_wrong_format_names_the_right_one(make, wrong: str, right: str, layout: str,
                                                             tmp_path: Path, capsys) -> None:
    root = make(tmp_path / 'root')
    assert main(['data', 'check', str(root), '--format', wrong, '--workers', '1']) == 2
    line = _error(capsys)
    assert f'looks like {right} ({layout} layout)' in line
    assert f'`csa-bench data check {root} --format {right}`' in line


def test_data_check_of_an_empty_folder_names_the_raw_release(tmp_path: Path, capsys) -> None:
    assert main(['data', 'check', str(tmp_path), '--format', 'movingfashion', '--workers', '1']) == 2
    line = _error(capsys)
    assert 'the raw release (train.json, test.json' in line
    assert f'`csa-bench data synth --format movingfashion --out {tmp_path}`' in line
