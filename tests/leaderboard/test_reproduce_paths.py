"""Where ``reproduce`` and ``leaderboard`` write (issue 14, items 6 and 7).

Faults tried: ``reproduce --results ../elsewhere`` run inside a checkout (it rewrote the repo's
LEADERBOARD.md, figures and README block from that folder alone, mode 0600); two ``reproduce`` on
one results folder; a figure killed mid-save, truncated or corrupted (``--check`` accepted it).
The project is a copy in ``tmp_path`` (``project_root`` monkeypatched), so the real checkout is
never written.
"""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from csa_bench import plugin_loader
from csa_bench.cli import main
from csa_bench.utils import atomic

from .conftest import write_run
from .test_reproduce import _write_config, calls  # noqa: F401  (fixture: fake api.train / api.test)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    """A fake checkout: leaderboard/ (results, markdown, figures) and a README with the block; cwd."""
    root = tmp_path / 'checkout'
    shutil.copytree(REPO / 'leaderboard', root / 'leaderboard',
                    ignore=shutil.ignore_patterns('__pycache__', '*.py', 'work_dirs'))
    shutil.copy(REPO / 'README.md', root / 'README.md')
    data_root = tmp_path / 'data' / 'synthetic-lpr4m'
    (data_root / 'annotations').mkdir(parents=True)
    (data_root / 'annotations' / 'gallery_main.txt').write_text('live-1/img-0.jpg\n')
    _write_config(tmp_path / 'configs' / 'rice' / 'rice-icl_tiny_synthetic-lpr4m.py', data_root)
    monkeypatch.setattr(plugin_loader, 'project_root', lambda: root)
    monkeypatch.chdir(root)
    return root


def _snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {p.relative_to(root).as_posix(): (p.read_bytes(), stat.S_IMODE(p.stat().st_mode))
            for p in sorted(root.rglob('*')) if p.is_file()}


def _reproduce(tmp_path: Path, *extra: str) -> list[str]:
    return ['reproduce', '--configs', str(tmp_path / 'configs'), *extra]


def test_results_elsewhere_leave_the_checkout_untouched(project: Path, tmp_path: Path, calls) -> None:  # noqa: F811
    before = _snapshot(project)
    elsewhere = tmp_path / 'elsewhere' / 'results'
    assert main(_reproduce(tmp_path, '--results', str(elsewhere))) == 0
    assert _snapshot(project) == before                       # LEADERBOARD.md, figures, README: same bytes
    board = tmp_path / 'elsewhere'
    assert (board / 'LEADERBOARD.md').is_file() and list((board / 'figures').glob('*.png'))
    assert (board / 'work_dirs' / 'rice-icl_tiny_synthetic-lpr4m' / 'seed42').is_dir()
    assert sorted(p.name for p in board.iterdir()) == ['LEADERBOARD.md', 'figures', 'results', 'work_dirs']
    assert 'rice-icl_tiny_synthetic-lpr4m' in (board / 'LEADERBOARD.md').read_text()


def test_default_results_write_the_committed_layout_and_keep_modes(project: Path, tmp_path: Path,
                                                                   calls) -> None:  # noqa: F811
    board, readme = project / 'leaderboard' / 'LEADERBOARD.md', project / 'README.md'
    os.chmod(board, 0o644)
    os.chmod(readme, 0o664)
    readme_before = readme.read_text()
    old_mask = os.umask(0o022)
    try:
        assert main(_reproduce(tmp_path)) == 0
    finally:
        os.umask(old_mask)
    assert 'rice-icl_tiny_synthetic-lpr4m' in board.read_text()
    assert readme.read_text() != readme_before                       # the project's own board: README synced
    assert (project / 'leaderboard' / 'results' / 'rice-icl_tiny_synthetic-lpr4m' / 'seed42.json').is_file()
    assert (project / 'leaderboard' / 'work_dirs' / 'rice-icl_tiny_synthetic-lpr4m' / 'seed42').is_dir()
    assert stat.S_IMODE(board.stat().st_mode) == 0o644 and stat.S_IMODE(readme.stat().st_mode) == 0o664
    new = project / 'leaderboard' / 'results' / 'rice-icl_tiny_synthetic-lpr4m' / 'seed42.json'
    assert stat.S_IMODE(new.stat().st_mode) == 0o644                 # new files: the umask's default
    assert not [p for p in project.rglob('*.tmp')]
    assert main(['leaderboard', '--check']) == 0                      # markdown, README and figures agree


def test_leaderboard_elsewhere_from_inside_the_checkout_never_syncs_its_readme(project: Path,
                                                                               tmp_path: Path) -> None:
    readme = (project / 'README.md').read_bytes()
    out = tmp_path / 'other' / 'LEADERBOARD.md'
    assert main(['leaderboard', '--out', str(out)]) == 0
    assert out.is_file() and (project / 'README.md').read_bytes() == readme


def test_atomic_write_keeps_the_mode(tmp_path: Path) -> None:
    path = tmp_path / 'shared.json'
    path.write_text('{}')
    os.chmod(path, 0o640)
    atomic.write_text_atomic(path, '{"a": 1}')
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    old_mask = os.umask(0o027)
    try:
        atomic.write_text_atomic(tmp_path / 'new.txt', 'x')
    finally:
        os.umask(old_mask)
    assert stat.S_IMODE((tmp_path / 'new.txt').stat().st_mode) == 0o640


def test_second_reproduce_on_one_results_folder_is_refused(project: Path, tmp_path: Path, calls,  # noqa: F811
                                                           capsys) -> None:
    results = tmp_path / 'shared' / 'results'
    holder = subprocess.Popen(
        [sys.executable, '-c', textwrap.dedent(f'''
            import sys, time
            from csa_bench.utils.locks import exclusive_lock
            with exclusive_lock({str(results / '.csa_bench_reproduce.lock')!r}, 'x'):
                print('locked', flush=True)
                time.sleep(120)
        '''), 'reproduce-holder'],
        stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
    try:
        assert holder.stdout.readline().strip() == 'locked'
        assert main(_reproduce(tmp_path, '--results', str(results))) == 2
        err = ' '.join(capsys.readouterr().err.split())
        assert f'pid {holder.pid}' in err and 'reproduce-holder' in err and str(results) in err
        assert calls == [] and not (results / 'rice-icl_tiny_synthetic-lpr4m').exists()
    finally:
        holder.kill()
        holder.wait()
    assert main(_reproduce(tmp_path, '--results', str(results))) == 0   # the kernel dropped the lock


# ----------------------------------------------------------------------------------- figures
@pytest.fixture
def generated(tmp_path: Path) -> tuple[Path, Path]:
    results = tmp_path / 'results'
    write_run(results, 'rice-icl_tiny_synthetic-lpr4m', 0, {'R@1': 10, 'R@3': 20, 'R@5': 30, 'R@10': 40})
    out = tmp_path / 'board' / 'LEADERBOARD.md'
    assert main(['leaderboard', '--results', str(results), '--out', str(out), '--readme', 'none']) == 0
    return results, out


def _check(results: Path, out: Path) -> int:
    return main(['leaderboard', '--check', '--results', str(results), '--out', str(out), '--readme', 'none'])


@pytest.mark.parametrize('damage', ['truncate', 'flip', 'delete', 'garbage'])
def test_check_catches_a_broken_figure(generated, damage, capsys) -> None:
    results, out = generated
    assert _check(results, out) == 0
    png = sorted((out.parent / 'figures').glob('*.png'))[0]
    data = png.read_bytes()
    if damage == 'truncate':
        png.write_bytes(data[: len(data) // 2])
    elif damage == 'flip':   # one byte inside the image data: a chunk CRC no longer matches
        png.write_bytes(data[:200] + bytes([data[200] ^ 0xFF]) + data[201:])
    elif damage == 'delete':
        png.unlink()
    else:
        png.write_bytes(b'\x89PNG\r\n\x1a\n' + b'\0' * 64)
    capsys.readouterr()
    assert _check(results, out) == 1
    assert png.name in capsys.readouterr().out
    assert main(['leaderboard', '--check', '--no-figures', '--results', str(results), '--out', str(out),
                 '--readme', 'none']) == 0


def test_a_kill_mid_figure_keeps_the_previous_png(generated, monkeypatch) -> None:
    from matplotlib.figure import Figure

    results, out = generated
    before = {p: p.read_bytes() for p in (out.parent / 'figures').glob('*.png')}
    real = Figure.savefig

    def dying(self, fname, *args, **kwargs):   # half the PNG reaches the file, then the process "dies"
        real(self, fname, *args, **kwargs)
        fname.truncate(fname.tell() // 2)
        raise KeyboardInterrupt('simulated kill')

    monkeypatch.setattr(Figure, 'savefig', dying)
    write_run(results, 'rice-icl_tiny_synthetic-lpr4m', 1, {'R@1': 12, 'R@3': 20, 'R@5': 30, 'R@10': 40})
    with pytest.raises(KeyboardInterrupt):
        main(['leaderboard', '--results', str(results), '--out', str(out), '--readme', 'none'])
    assert {p: p.read_bytes() for p in (out.parent / 'figures').glob('*.png')} == before
    assert not list((out.parent / 'figures').glob('.*.tmp'))
    monkeypatch.undo()
    assert _check(results, out) == 1   # the markdown is written last: the old one is reported stale
