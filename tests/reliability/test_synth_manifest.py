"""Fault: ``data synth`` pointed at a folder holding someone's files (issue 14, item 6).

``data synth --force --out DIR`` used to ``rmtree(DIR)``, and a re-synth with another seed or size
deleted the user's files inside. Now the manifest lists what synth wrote and only that is replaced.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import csa_bench.utils.atomic as atomic
from csa_bench.cli import main
from csa_bench.cli.data import MANIFEST, MARKER

SYNTH = ['data', 'synth', '--format', 'lpr4m', '--size', 'tiny']


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob('*') if p.is_file()}


def test_force_on_a_folder_synth_did_not_write_is_refused_and_nothing_changes(tmp_path, capsys) -> None:
    out = tmp_path / 'mine'
    (out / 'notes').mkdir(parents=True)
    (out / 'notes' / 'thesis.tex').write_text('years of work')
    (out / 'annotations').mkdir()
    for extra in ([], ['--force']):
        assert main([*SYNTH, '--out', str(out), *extra]) == 2
        err = ' '.join(capsys.readouterr().err.split())
        assert str(out) in err and 'not written by `csa-bench data synth`' in err and 'choose an empty' in err
    assert _files(out) == {'notes/thesis.tex'} and (out / 'annotations').is_dir()


@pytest.mark.slow
def test_resynth_replaces_only_what_the_manifest_lists(tmp_path, capsys, monkeypatch) -> None:
    from plugins.datasets.synthetic.common import SIZES

    # Another --size, kept small for the test: 'small' with tiny's shape and fewer products.
    monkeypatch.setitem(SIZES, 'small', dict(SIZES['tiny'], products=3))
    out = tmp_path / 'synthetic-lpr4m'
    assert main([*SYNTH, '--out', str(out), '--seed', '0']) == 0
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest['complete'] and manifest['seed'] == 0 and manifest['generator_version'] >= 1
    assert set(manifest['files']) == _files(out) - {MARKER, MANIFEST}
    assert json.loads((out / MARKER).read_text()) == {k: manifest[k] for k in (
        'format', 'seed', 'size', 'generator_version', 'summary')}   # the marker: same content as before
    from csa_bench.results import annotation_files
    # Result files checksum the annotations (marker included); the manifest's media hashes stay out.
    assert MARKER in {p.name for p in annotation_files(out)} and MANIFEST not in {p.name for p in annotation_files(out)}
    some = next(iter(manifest['files']))
    record = manifest['files'][some]
    assert record['size'] == (out / some).stat().st_size and len(record['sha256']) == 64
    first_seed_files = set(manifest['files'])
    # The user's files: at the top, inside one of synth's folders, and in a folder of their own.
    (out / 'README_mine.txt').write_text('mine')
    (out / 'annotations' / 'my_notes.txt').write_text('mine too')
    (out / 'query' / 'extra').mkdir()
    (out / 'query' / 'extra' / 'keep.jpg').write_bytes(b'not ours')
    capsys.readouterr()
    for argv in (['--seed', '1'], ['--seed', '1', '--force'], ['--seed', '2', '--size', 'small']):
        assert main([*SYNTH, '--out', str(out), *argv]) == 0, capsys.readouterr()
        assert (out / 'README_mine.txt').read_text() == 'mine'
        assert (out / 'annotations' / 'my_notes.txt').read_text() == 'mine too'
        assert (out / 'query' / 'extra' / 'keep.jpg').read_bytes() == b'not ours'
        manifest = json.loads((out / MANIFEST).read_text())
        mine = {'README_mine.txt', 'annotations/my_notes.txt', 'query/extra/keep.jpg'}
        assert _files(out) == set(manifest['files']) | mine | {MARKER, MANIFEST}   # old-seed files are gone
        assert 'untouched' in capsys.readouterr().out
    assert first_seed_files - set(manifest['files'])   # seed 0's clips were removed ...
    assert not [p for p in out.iterdir() if p.name.startswith('.csa_bench_synth-staging-')]
    assert main(['data', 'check', str(out), '--format', 'lpr4m', '--workers', '1']) == 0   # ... cleanly


def test_a_new_file_landing_on_a_user_file_is_refused(tmp_path, capsys) -> None:
    out = tmp_path / 'synthetic-lpr4m'
    assert main([*SYNTH, '--out', str(out), '--seed', '0']) == 0
    before = (out / MANIFEST).read_bytes()
    # A path the seed-0 manifest does not list, where seed 1 writes: the user put their file there.
    listed = json.loads(before)['files']
    assert main([*SYNTH, '--out', str(tmp_path / 'probe'), '--seed', '1']) == 0
    target = next(rel for rel in _files(tmp_path / 'probe') if rel not in listed and not rel.startswith('.csa'))
    (out / target).parent.mkdir(parents=True, exist_ok=True)
    (out / target).write_bytes(b'user data')
    capsys.readouterr()
    assert main([*SYNTH, '--out', str(out), '--seed', '1']) == 2
    assert 'nothing was changed' in ' '.join(capsys.readouterr().err.split())
    assert (out / target).read_bytes() == b'user data' and (out / MANIFEST).read_bytes() == before
    assert json.loads((out / MARKER).read_text())['seed'] == 0   # still the complete seed-0 tree


def test_hostile_manifest_cannot_point_outside(tmp_path, capsys) -> None:
    victim = tmp_path / 'victim.txt'
    victim.write_text('keep')
    out = tmp_path / 'synthetic-lpr4m'
    out.mkdir()
    (out / MANIFEST).write_text(json.dumps({'format': 'lpr4m', 'seed': 0, 'size': 'tiny', 'generator_version': 0,
                                            'complete': True, 'files': {'../victim.txt': {'size': 4}}}))
    assert main([*SYNTH, '--out', str(out), '--force']) == 2
    assert 'not a plain relative path' in capsys.readouterr().err
    assert victim.read_text() == 'keep'


@pytest.mark.slow
def test_kill_while_moving_files_in_is_recovered_by_the_next_run(tmp_path) -> None:
    from csa_bench.cli.data import synth

    out = tmp_path / 'synthetic-lpr4m'
    synth(out, 'lpr4m', seed=0, size='tiny')
    (out / 'mine.txt').write_text('mine')
    real = os.replace
    final_query = f'{out}{os.sep}query{os.sep}'

    def replace(src, dst, *args, **kwargs):   # dies after some files of seed 1 are in place
        if os.fspath(dst).startswith(final_query) and replace.moved > 5:
            raise OSError('simulated kill')
        replace.moved += os.fspath(dst).startswith(final_query)
        return real(src, dst, *args, **kwargs)

    replace.moved = 0
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(atomic.os, 'replace', replace)
        with pytest.raises(OSError, match='simulated kill'):
            synth(out, 'lpr4m', seed=1, size='tiny')
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest['complete'] is False and not (out / MARKER).exists()   # never reused as is ...
    assert set(manifest['files']) >= _files(out) - {MANIFEST, 'mine.txt'}   # ... and lists all it wrote
    synth(out, 'lpr4m', seed=0, size='tiny')   # even with the old arguments it regenerates
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest['complete'] and _files(out) == set(manifest['files']) | {MARKER, MANIFEST, 'mine.txt'}


def test_legacy_marker_without_file_list_is_reused_but_never_replaced(tmp_path, capsys) -> None:
    out = tmp_path / 'old'
    assert main([*SYNTH, '--out', str(out)]) == 0
    (out / MANIFEST).unlink()   # what an older csa_bench left: the marker only
    assert main([*SYNTH, '--out', str(out)]) == 0 and 'reusing' in capsys.readouterr().out
    before = _files(out)
    assert main([*SYNTH, '--out', str(out), '--force']) == 2
    assert 'older csa_bench' in capsys.readouterr().err and _files(out) == before


def test_a_file_the_user_edited_is_not_ours_any_more(tmp_path, capsys) -> None:
    out = tmp_path / 'synthetic-lpr4m'
    assert main([*SYNTH, '--out', str(out), '--seed', '0']) == 0
    edited = out / 'annotations' / 'gallery_main.txt'
    edited.write_text(edited.read_text() + 'my/extra.jpg\n')
    capsys.readouterr()
    assert main([*SYNTH, '--out', str(out), '--seed', '1']) == 2
    err = ' '.join(capsys.readouterr().err.split())
    assert 'gallery_main.txt was changed since' in err and 'nothing was changed' in err
    assert edited.read_text().endswith('my/extra.jpg\n')
