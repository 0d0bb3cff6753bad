"""``csa-bench doctor``: the weights manifest covers the configs; a synthetic config with its data passes;
a real-data config on this machine names every missing piece and exits 1; a wrong sha256 is named."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from csa_bench.cli import main
from csa_bench.engine import doctor
from csa_bench.weights import WEIGHTS, WeightFile

SYNTH_CONFIG = 'configs/rice/rice-icl_clipvit-tiny_4f_1xb16-1000it_synthetic-lpr4m.py'
REAL_CONFIGS = ('configs/baselines/swin/swin_swin-b_10f_4xb24-5k_lpr4m.py',
                'configs/rice/rice-icl_clipvit-b32_10f_4xb24-5k_movingfashion.py')


def test_manifest_lists_every_pretrained_file_a_config_names(repo_root: Path) -> None:
    named = {name for path in (repo_root / 'configs').rglob('*.py')
             for name in doctor.pretrained_names(path.read_text())}
    assert named, 'no config names a pretrained file: the pattern is stale'
    assert named <= set(WEIGHTS), f'unlisted in csa_bench/weights.py: {sorted(named - set(WEIGHTS))}'
    for entry in WEIGHTS.values():
        assert entry.url.startswith('https://') and entry.licence
        assert entry.sha256 is None or len(entry.sha256) == 64


def test_synthetic_config_with_its_data_passes(repo_root: Path, use_synthetic_data, monkeypatch, capsys) -> None:
    monkeypatch.chdir(repo_root)
    assert main(['doctor', SYNTH_CONFIG, '--work-dir', str(use_synthetic_data)]) == 0
    out = capsys.readouterr().out
    assert 'all required checks passed' in out and 'annotations (media files not opened) OK' in out
    (report, machine) = doctor.run_doctor([repo_root / SYNTH_CONFIG], work_dir=use_synthetic_data)
    assert report.synthetic and report.ok and machine.ok
    gpu = next(c for c in machine.checks if c.name == 'gpu')
    import torch
    assert gpu.status == ('ok' if torch.cuda.is_available() else 'warn')   # no GPU: a warning only


def test_real_data_configs_name_every_missing_piece(repo_root: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(repo_root)
    monkeypatch.setenv('CSA_DATA_ROOT', str(tmp_path / 'data'))
    monkeypatch.setenv('CSA_PRETRAINED', str(tmp_path / 'weights'))
    assert main(['doctor', *REAL_CONFIGS, '--work-dir', str(tmp_path)]) == 1
    out = ' '.join(capsys.readouterr().out.split())
    for fix in (f'csa-bench data prepare lpr4m --out {tmp_path}/data/lpr4m',
                f'csa-bench data prepare movingfashion --out {tmp_path}/data/movingfashion',
                f'save it as {tmp_path}/weights/swin_base_patch4_window7_224.pth',
                f'save it as {tmp_path}/weights/ViT-B-32.pt', WEIGHTS['ViT-B-32.pt'].url,
                'set CSA_DATA_ROOT to the folder holding lpr4m/', 'set CSA_PRETRAINED'):
        assert fix in out, fix
    reports = doctor.run_doctor([repo_root / c for c in REAL_CONFIGS], work_dir=tmp_path)
    failed = {(Path(r.config or '').name, c.name) for r in reports for c in r.checks if c.status == 'fail'}
    assert {('swin_swin-b_10f_4xb24-5k_lpr4m.py', 'data lpr4m'),
            ('swin_swin-b_10f_4xb24-5k_lpr4m.py', 'weights swin_base_patch4_window7_224.pth'),
            ('rice-icl_clipvit-b32_10f_4xb24-5k_movingfashion.py', 'data movingfashion'),
            ('rice-icl_clipvit-b32_10f_4xb24-5k_movingfashion.py', 'weights ViT-B-32.pt')} <= failed
    import torch
    assert (('', 'gpu') in failed) == (not torch.cuda.is_available())   # a real-data run needs a GPU


def test_a_broken_data_root_fails_with_the_data_check_errors(repo_root: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(repo_root)
    (tmp_path / 'lpr4m' / 'annotations').mkdir(parents=True)   # a root without its annotation files
    monkeypatch.setenv('CSA_DATA_ROOT', str(tmp_path))
    report = doctor.inspect_config(repo_root / REAL_CONFIGS[0])
    data = next(c for c in report.checks if c.name == 'data lpr4m')
    assert data.status == 'fail' and 'error(s)' in data.detail
    assert f'csa-bench data check {tmp_path}/lpr4m --format lpr4m' in data.fix


def test_wrong_sha256_is_named(tmp_path: Path) -> None:
    fake = tmp_path / 'ViT-B-32.pt'
    fake.write_bytes(b'not the OpenAI archive')
    check = doctor.check_weight_file(fake)
    digest = hashlib.sha256(b'not the OpenAI archive').hexdigest()
    assert check.status == 'fail' and digest in check.detail and WEIGHTS['ViT-B-32.pt'].sha256 in check.detail
    assert WEIGHTS['ViT-B-32.pt'].url in check.fix
    # The 8-hex prefix timm publishes in its file names is checked too.
    prefixed = tmp_path / 'resnet50.a1_in1k.pth'
    prefixed.write_bytes(b'x')
    check = doctor.check_weight_file(prefixed)
    assert check.status == 'fail' and 'prefix' in check.detail and '14fe96d1' in check.detail


def test_matching_sha256_passes_and_unpublished_hash_is_not_invented(tmp_path: Path, monkeypatch) -> None:
    good = tmp_path / 'mine.pth'
    good.write_bytes(b'weights')
    entry = WeightFile('mine.pth', 'test', 'https://example.invalid/mine.pth', hashlib.sha256(b'weights').hexdigest(),
                       None, 'MIT')
    monkeypatch.setitem(WEIGHTS, 'mine.pth', entry)
    assert doctor.check_weight_file(good).status == 'ok'
    swin = tmp_path / 'swin_base_patch4_window7_224.pth'
    swin.write_bytes(b'anything')
    check = doctor.check_weight_file(swin)
    assert check.status == 'ok' and 'not verified' in check.detail
    unlisted = tmp_path / 'other.pth'
    unlisted.write_bytes(b'x')
    assert doctor.check_weight_file(unlisted).status == 'warn'


def test_disk_below_the_minimum_fails(tmp_path: Path) -> None:
    assert doctor.check_disk(tmp_path / 'not' / 'yet', 0.0).status == 'ok'
    check = doctor.check_disk(tmp_path, 1e9)
    assert check.status == 'fail' and '--work-dir' in check.fix


@pytest.mark.slow
def test_reproduce_runs_doctor_before_a_real_data_suite(repo_root: Path, tmp_path: Path, monkeypatch,
                                                        capsys) -> None:
    monkeypatch.chdir(repo_root)
    monkeypatch.setenv('CSA_DATA_ROOT', str(tmp_path / 'data'))
    monkeypatch.setenv('CSA_PRETRAINED', str(tmp_path / 'weights'))
    argv = ['reproduce', '--suite', 'baselines', '--dataset', 'lpr4m', '--only', 'swin_*', '--results',
            str(tmp_path / 'results'), '--dry-run']
    assert main(argv) == 1
    out = ' '.join(capsys.readouterr().out.split())
    assert 'preflight' in out and 'csa-bench data prepare lpr4m' in out and 'swin_base_patch4_window7_224.pth' in out
    assert main([*argv, '--no-doctor']) == 0
    assert 'preflight' not in capsys.readouterr().out


@pytest.mark.slow
def test_every_real_data_config_names_its_missing_data_and_weights(repo_root: Path, tmp_path: Path,
                                                                   monkeypatch) -> None:
    monkeypatch.chdir(repo_root)
    monkeypatch.setenv('CSA_DATA_ROOT', str(tmp_path / 'data'))
    monkeypatch.setenv('CSA_PRETRAINED', str(tmp_path / 'weights'))
    configs = sorted(p for p in [*(repo_root / 'configs' / 'rice').glob('*.py'),
                                 *(repo_root / 'configs' / 'baselines').glob('*/*.py')] if 'synthetic' not in p.name)
    assert len(configs) >= 20
    for report in doctor.run_doctor(configs, work_dir=tmp_path)[:-1]:
        failed = [c for c in report.checks if c.status == 'fail']
        assert not report.synthetic and any(c.name.startswith('data ') for c in failed), report.config
        assert any(c.name.startswith('weights ') and 'download https://' in c.fix for c in failed), report.config
        assert all(c.name != 'data LPR4MV1Dataset' for c in report.checks)   # V1 datasets use the lpr4m tool
