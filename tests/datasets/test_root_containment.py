"""Annotation entries that leave the data root (``..``, absolute paths, symlinks) are refused with the
annotation file and line (or JSON key), by every loader and by ``csa-bench data check``; the
``allow_outside_root`` opt-in reads them (issue 14, item 8)."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from csa_bench.cli import main
from csa_bench.datasets import RetrievalDataset
from csa_bench.datasets.paths import OutsideRootError, RootPaths
from plugins.datasets.lpr4m import LPR4MDataset
from plugins.datasets.movingfashion import MovingFashionDataset

from . import dataset_fixtures as fx


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A real JPEG outside every fixture root (what a hostile entry points at)."""
    path = tmp_path / 'outside' / 'secret.jpg'
    fx.jpeg(path, value=7)
    return path


def _rewrite_tsv(path: Path, row: int, column: int, value: str) -> None:
    rows = [line.split('\t') for line in path.read_text().splitlines()]
    rows[row][column] = value
    path.write_text(''.join('\t'.join(r) + '\n' for r in rows))


def _tenframes(root: Path) -> Path:
    return root / 'annotations' / 'query_tenframes.json'


# ----------------------------------------------------------------------------------- LPR4M / LPR750K
def test_dotdot_frame_path_in_training_tsv_is_refused_with_file_and_line(lpr750k_root, outside) -> None:
    tsv = lpr750k_root / 'annotations' / 'training_videoinfo_750k.txt'
    _rewrite_tsv(tsv, 2, 1, json.dumps(['../outside/secret.jpg']))
    with pytest.raises(OutsideRootError, match=r'training_videoinfo_750k\.txt:3: path .*\.\./outside.* climbs out'):
        LPR4MDataset(data_root=str(lpr750k_root), split='train')
    # The opt-in reads it (and the path is the one the annotation gave, joined to the root).
    ds = LPR4MDataset(data_root=str(lpr750k_root), split='train', allow_outside_root=True)
    frames = [p for i in range(len(ds)) for p in ds.get_data_info(i)['frame_paths']]
    assert os.path.realpath(os.path.join(lpr750k_root, '../outside/secret.jpg')) in map(os.path.realpath, frames)


def test_absolute_image_path_in_training_tsv_is_refused(lpr750k_root, outside) -> None:
    tsv = lpr750k_root / 'annotations' / 'training_videoinfo_750k.txt'
    _rewrite_tsv(tsv, 0, 4, str(outside))
    with pytest.raises(OutsideRootError, match=r'training_videoinfo_750k\.txt:1: .* is an absolute path'):
        LPR4MDataset(data_root=str(lpr750k_root), split='train')


def test_symlinked_file_leaving_the_root_is_refused(lpr750k_root, outside) -> None:
    image = lpr750k_root / 'training_image' / f'{fx.I1}.jpg'
    image.unlink()
    image.symlink_to(outside)
    with pytest.raises(OutsideRootError, match=r'training_videoinfo_750k\.txt:1: .* is a symlink to .*secret\.jpg'):
        LPR4MDataset(data_root=str(lpr750k_root), split='train')


def test_symlinked_folder_leaving_the_root_is_refused_in_the_gallery(lpr750k_root, tmp_path) -> None:
    live = lpr750k_root / 'gallery' / fx.L2
    target = tmp_path / 'elsewhere'
    live.rename(target)
    live.symlink_to(target, target_is_directory=True)
    with pytest.raises(OutsideRootError, match=r'gallery_main\.txt:4: .* symlink that leaves the data root'):
        LPR4MDataset(data_root=str(lpr750k_root), split='test')


def test_symlink_that_stays_inside_the_root_is_accepted(lpr750k_root) -> None:
    live = lpr750k_root / 'gallery' / fx.L2
    moved = lpr750k_root / 'store' / 'moved'
    moved.parent.mkdir()
    live.rename(moved)
    live.symlink_to(moved, target_is_directory=True)
    # A data root that is itself a symlink is judged on its real path.
    link_root = lpr750k_root.parent / 'root-link'
    link_root.symlink_to(lpr750k_root, target_is_directory=True)
    ds = LPR4MDataset(data_root=str(link_root), split='test')
    assert any(fx.G3 in (ds.get_data_info(i)['img_path'] or '') for i in range(len(ds)))


def test_query_frames_climbing_out_of_query_are_refused_with_the_json_key(lpr750k_root, outside) -> None:
    content = json.loads(_tenframes(lpr750k_root).read_text())
    content[fx.Q2]['frames'][1] = '../../outside/secret.jpg'
    _tenframes(lpr750k_root).write_text(json.dumps(content))
    with pytest.raises(OutsideRootError, match=rf"query_tenframes\.json: key '{fx.Q2}\.frames': .* climbs out"):
        LPR4MDataset(data_root=str(lpr750k_root), split='test')
    # '..' that stays inside the root ('query/../gallery/...') is fine.
    content[fx.Q2]['frames'][1] = f'../gallery/{fx.L2}/{fx.G3}-0.jpg'
    _tenframes(lpr750k_root).write_text(json.dumps(content))
    LPR4MDataset(data_root=str(lpr750k_root), split='test')


def test_full_layout_clip_id_and_image_id_cannot_leave_the_root(lpr4m_full_root, tmp_path) -> None:
    ann = lpr4m_full_root / 'annotations'
    gt = ann / 'test_videoid_to_gtimage_20079.json'
    gt.write_text(json.dumps({'../../outside': [fx.G3]}))
    with pytest.raises(OutsideRootError, match=r"test_videoid_to_gtimage_20079\.json: key '\.\./\.\./outside'"):
        LPR4MDataset(data_root=str(lpr4m_full_root), split='test')
    # A clip's frame folder that is a symlink out of the root.
    gt.write_text(json.dumps({fx.Q2: [fx.G3]}))
    folder = lpr4m_full_root / 'frames' / fx.Q2
    folder.rename(tmp_path / 'frames-elsewhere')
    folder.symlink_to(tmp_path / 'frames-elsewhere', target_is_directory=True)
    with pytest.raises(OutsideRootError, match=rf"key '{fx.Q2}'.* symlink"):
        LPR4MDataset(data_root=str(lpr4m_full_root), split='test')
    assert len(LPR4MDataset(data_root=str(lpr4m_full_root), split='test', allow_outside_root=True)) > 0
    # An image id from the per-live gallery json.
    folder.unlink()
    (tmp_path / 'frames-elsewhere').rename(folder)
    (ann / 'test_liveid_to_gallery_110.json').write_text(json.dumps({fx.L2: ['../../x']}))
    with pytest.raises(OutsideRootError, match=rf"test_liveid_to_gallery_110\.json: key '{fx.L2}'"):
        LPR4MDataset(data_root=str(lpr4m_full_root), split='test')


# ----------------------------------------------------------------------------------- MovingFashion
def test_movingfashion_raw_video_and_image_paths_are_checked(mf_root, outside) -> None:
    for split, pid, key, value, shown in (
            ('train', 'p1', 'video_paths', ['videos/v1.mp4', '/etc/passwd'], 'p1.video_paths[1]'),
            ('test', 't3', 'img_path', '../outside/secret.jpg', 't3.img_path')):
        path = mf_root / f'{split}.json'
        original = path.read_text()
        content = json.loads(original)
        content[pid][key] = value
        path.write_text(json.dumps(content))
        with pytest.raises(OutsideRootError, match=re.escape(f"{split}.json: key '{shown}'")):
            MovingFashionDataset(data_root=str(mf_root), split=split)
        path.write_text(original)
    MovingFashionDataset(data_root=str(mf_root), split='test')


def test_movingfashion_prepared_lines_are_checked(mf_prepared_root, outside) -> None:
    ann = mf_prepared_root / 'annotations'
    (ann / 'gallery_full.txt').write_text('imgs/j1.jpg\n../outside/secret.jpg\nimgs/j3.jpg\n')
    with pytest.raises(OutsideRootError, match=r'gallery_full\.txt:2: '):
        MovingFashionDataset(data_root=str(mf_prepared_root), split='test', annotation='prepared')
    _rewrite_tsv(ann / 'training_videoinfo_full.txt', 0, 3, str(outside))
    with pytest.raises(OutsideRootError, match=r'training_videoinfo_full\.txt:1: .* absolute'):
        MovingFashionDataset(data_root=str(mf_prepared_root), split='train', annotation='prepared')
    ds = MovingFashionDataset(data_root=str(mf_prepared_root), split='train', annotation='prepared',
                              allow_outside_root=True)
    assert ds.get_data_info(0)['img_path'] == str(outside)


def test_generic_annotation_format_is_checked(tmp_path: Path, outside) -> None:
    root = tmp_path / 'generic'
    root.mkdir()
    sample = {'role': 'pair', 'sample_id': 'a', 'item_id': 'x', 'label': 0, 'img_path': '../outside/secret.jpg'}
    (root / 'ann.json').write_text(json.dumps({'data_list': [sample]}))
    with pytest.raises(OutsideRootError, match=r"ann\.json: key 'data_list\[0\]\.img_path'"):
        RetrievalDataset(ann_file='ann.json', data_root=str(root))


def test_root_paths_lexical_rules(tmp_path: Path) -> None:
    paths = RootPaths(tmp_path)
    assert paths.join('a/../b.jpg', 'f.txt', 1) == os.path.join(tmp_path, 'a/../b.jpg')
    for bad in ('..', '../x', 'a/../../x', '/abs/x'):
        with pytest.raises(OutsideRootError, match=r'f\.txt:3: '):
            paths.join(bad, 'f.txt', 3)
    assert RootPaths(tmp_path, allow_outside_root=True).join('../x', 'f.txt') == os.path.join(tmp_path, '../x')


# ----------------------------------------------------------------------------------- data check
def test_data_check_reports_an_escape_and_allows_it_on_request(lpr750k_root, outside, capsys) -> None:
    tsv = lpr750k_root / 'annotations' / 'training_videoinfo_750k.txt'
    _rewrite_tsv(tsv, 0, 4, '../outside/secret.jpg')
    argv = ['data', 'check', str(lpr750k_root), '--format', 'lpr4m', '--workers', '1']
    assert main(argv) == 1
    out = ' '.join(capsys.readouterr().out.split())
    assert 'training_videoinfo_750k.txt:1: path' in out and 'allow-outside-root' in out
    assert main([*argv, '--allow-outside-root']) == 0, capsys.readouterr().out
