"""LPR4M and its LPR750K package (Kuaishou, ICCV 2023): clips of livestreams -> shop images.

Paper: *Cross-view Semantic Alignment for Livestreaming Product Recognition*, W. Yang et al.,
ICCV 2023 (arXiv 2308.04912). Data: https://github.com/adxcreative/RICE (full release, URL lists)
and https://csip.fzu.edu.cn/lpr4m/ (LPR750K package). Statistics (dataset card): 4,013,617
training clip-image pairs (LPR750K: 641,821 / 750K), 34 categories; test 20,079 clips from 110
livestreams, 66,358 gallery images, ~10 frames per test query. Formats: datasets.md §1-4.

Two on-disk layouts, told apart by the annotation files present::

    <root>/                                   LPR750K package (what the official code reads)
      annotations/training_videoinfo_750k.txt (or _641821.txt; 10 or 11 columns per row)
      annotations/query_tenframes.json         {clip_id: {"frames": [paths under query/], "gt": ...}}
      annotations/test_videoid_to_gtimage_20079.json   {clip_id: [image_id, ...]}
      annotations/gallery_main.txt             <live_id>/<image_id>-<k>.jpg, paths under gallery/
      query/<clip_id>/<frame_id>.jpg
      gallery/<live_id>/<image_id>-<k>.jpg    k = 0 is the main image
      training_video_0*/..., training_image/...   (paths as listed in the TSV)

    <root>/                                   full release (csa_bench directory convention)
      annotations/training_videoinfo_full_part_{00..09}.txt   11 columns
      annotations/test_videoid_to_gtimage_20079.json
      annotations/test_liveid_to_gallery_110.json              {live_id: [image_id, ...]}
      frames/<clip_id>/<frame_id>.jpg          training and test frames
      images/<image_id>.jpg                    training and test shop images

Optional test annotations read in both layouts: ``test_videoid_asr_*.txt`` (clip -> ASR),
``test_image_title_*.txt`` (image -> title) and ``test_videoinfo_full.txt`` (csa_bench
convention: the 11-column format for test clips, giving their difficulty columns).

Test split: queries (role ``query``, ``group_id`` = live id = first 5 dash fields of the clip id,
``gt_ids`` from the GT json) followed by the gallery (role ``gallery``, ``group_id`` = live id,
``item_id`` = first 5 dash fields of the file name, in ``gallery_main.txt`` line order, the
tie-break order). ``gallery='main'`` (protocol ``lpr4m-csa``) keeps only ``-0`` main images.
GT clips without a query entry stay in ``metainfo['missing_queries']`` (misses for the metric).
"""
from __future__ import annotations

import glob
import os
from pathlib import Path

from csa_bench.datasets import RetrievalDataset
from csa_bench.datasets.parsing import (
    AnnotationError,
    dash_prefix,
    expect_type,
    load_json,
    read_lines,
    read_tsv,
)
from csa_bench.registry import DATASETS
from csa_bench.structures import make_sample

from .lpr4m_format import FRAME_TEMPLATE, IMAGE_TEMPLATE, read_rows

TRAIN_FILES_750K = ('training_videoinfo_750k.txt', 'training_videoinfo_641821.txt')
TRAIN_FILES_FULL = 'training_videoinfo_full_part_*.txt'
LAYOUTS = ('auto', 'lpr750k', 'full')


def find_one(annotations: Path, pattern: str, required: bool = True) -> Path | None:
    """The single file in ``annotations`` matching ``pattern`` (e.g. ``test_videoid_to_gtimage_*.json``)."""
    found = sorted(glob.glob(str(annotations / pattern)))
    if len(found) > 1:
        raise AnnotationError(f'{annotations}: several files match {pattern}: {found}')
    if not found:
        if required:
            raise AnnotationError(f'{annotations / pattern}: annotation file not found')
        return None
    return Path(found[0])


def detect_layout(root: str | os.PathLike, split: str) -> str:
    """``'lpr750k'`` or ``'full'``, from the annotation files present under ``root/annotations``."""
    ann = Path(root) / 'annotations'
    if split == 'test':
        if (ann / 'query_tenframes.json').is_file() or (ann / 'gallery_main.txt').is_file():
            return 'lpr750k'
        if find_one(ann, 'test_liveid_to_gallery_*.json', required=False):
            return 'full'
    else:
        if any((ann / name).is_file() for name in TRAIN_FILES_750K):
            return 'lpr750k'
        if glob.glob(str(ann / TRAIN_FILES_FULL)):
            return 'full'
    raise AnnotationError(f'{ann}: no LPR4M {split} annotations found (neither the LPR750K package '
                          'nor the full-release files)')


@DATASETS.register_module()
class LPR4MDataset(RetrievalDataset):
    """LPR4M / LPR750K video-to-shop retrieval (see the module docstring for layouts and ids).

    Args:
        data_root: the dataset root.
        split: ``'train'`` (pairs) or ``'test'`` (queries, then gallery).
        layout: ``'auto'``, ``'lpr750k'`` or ``'full'``.
        train_files: training TSV names under ``annotations/`` (default: the layout's files).
        gallery: ``'main'`` (only ``-0`` main images, protocol ``lpr4m-csa``) or ``'all'``.
        frame_template, image_template: full-release path convention (relative to the root).
        **kwargs: forwarded to :class:`RetrievalDataset` (pipeline, test_mode, on_bad_sample, ...).
    """

    METAINFO = {'dataset_name': 'lpr4m'}

    def __init__(self, data_root: str, split: str = 'train', layout: str = 'auto',
                 train_files: list[str] | None = None, gallery: str = 'main',
                 frame_template: str = FRAME_TEMPLATE, image_template: str = IMAGE_TEMPLATE, **kwargs) -> None:
        if layout not in LAYOUTS:
            raise ValueError(f'layout must be one of {LAYOUTS}, got {layout!r}')
        if gallery not in ('main', 'all'):
            raise ValueError(f"gallery must be 'main' or 'all', got {gallery!r}")
        self.layout = layout
        self.train_files = train_files
        self.gallery = gallery
        self.frame_template = frame_template
        self.image_template = image_template
        super().__init__(data_root=data_root, split=split, **kwargs)

    @property
    def annotations(self) -> Path:
        return Path(self.data_root) / 'annotations'

    def load_data_list(self) -> list[dict]:
        if self.layout == 'auto':
            self.layout = detect_layout(self.data_root, self.split)
        self._metainfo.update(layout=self.layout, missing_queries={})
        return self._load_train() if self.split == 'train' else self._load_test()

    # -- training pairs ----------------------------------------------------------------------------
    def _train_paths(self) -> list[Path]:
        if self.train_files:
            return [self.annotations / name for name in self.train_files]
        if self.layout == 'lpr750k':
            for name in TRAIN_FILES_750K:
                if (self.annotations / name).is_file():
                    return [self.annotations / name]
        found = sorted(glob.glob(str(self.annotations / TRAIN_FILES_FULL)))
        if not found:
            raise AnnotationError(f'{self.annotations}: no training TSV ({TRAIN_FILES_750K} or {TRAIN_FILES_FULL})')
        return [Path(p) for p in found]

    def _load_train(self) -> list[dict]:
        rows = [(path, row) for path in self._train_paths()
                for row in read_rows(path, self.frame_template, self.image_template)]
        labels = {image_id: i for i, image_id in enumerate(sorted({row['image_id'] for _, row in rows}))}
        paths = self.root_paths()
        return [make_sample(
            role='pair', sample_id=row['clip_id'], item_id=row['image_id'], group_id=dash_prefix(row['clip_id']),
            frame_paths=[paths.join(p, source, row['line']) for p in row['frame_paths']],
            img_path=paths.join(row['image_path'], source, row['line']), label=labels[row['image_id']],
            category_id=row['category_id'], title=row['title'], asr=row['asr'],
            meta=dict(row['meta'], category_name=row['category_name'])) for source, row in rows]

    # -- test: queries then gallery ----------------------------------------------------------------
    def _test_extras(self) -> tuple[dict[str, str], dict[str, str], dict[str, dict]]:
        """Optional ASR, titles and per-clip metadata (difficulty columns) for the test split."""
        asr, titles, clip_meta = {}, {}, {}
        if path := find_one(self.annotations, 'test_videoid_asr_*.txt', required=False):
            asr = {f[0]: f[1] for _, f in read_tsv(path, 2)}
        if path := find_one(self.annotations, 'test_image_title_*.txt', required=False):
            titles = {f[0]: f[1] for _, f in read_tsv(path, 2)}
        if (path := self.annotations / 'test_videoinfo_full.txt').is_file():
            # Metadata only: the query frames come from query_tenframes.json or the frame folders.
            for row in read_rows(path, self.frame_template, self.image_template, require_frames=False):
                clip_meta[row['clip_id']] = dict(row['meta'], category_id=row['category_id'],
                                                 category_name=row['category_name'], title=row['title'])
                asr.setdefault(row['clip_id'], row['asr'])
        return asr, titles, clip_meta

    def _load_test(self) -> list[dict]:
        gt_path = find_one(self.annotations, 'test_videoid_to_gtimage_*.json')
        gt = expect_type(load_json(gt_path), dict, gt_path, '<root>')
        asr, titles, clip_meta = self._test_extras()
        if self.layout == 'lpr750k':
            clips = self._query_frames_750k()
        else:
            clips = self._query_frames_full(gt, gt_path)
        queries = []
        for clip_id, frame_paths in clips.items():
            if clip_id not in gt:
                raise AnnotationError(f'{gt_path}: query clip {clip_id!r} has no ground-truth entry')
            gt_ids = [str(g) for g in expect_type(gt[clip_id], list, gt_path, clip_id)]
            extra = clip_meta.get(clip_id, {})
            queries.append(make_sample(
                role='query', sample_id=clip_id, gt_ids=gt_ids, group_id=dash_prefix(clip_id),
                frame_paths=frame_paths, category_id=extra.get('category_id', -1), asr=asr.get(clip_id, ''),
                meta={k: v for k, v in extra.items() if k not in ('category_id', 'title')}))
        missing = {c: list(g) for c, g in gt.items() if c not in clips}
        if missing:
            self._metainfo['missing_queries'] = missing
            for clip_id in missing:
                self.note_missing(f'query {clip_id}')
        gallery = self._gallery_750k() if self.layout == 'lpr750k' else self._gallery_full()
        for sample in gallery:
            sample['title'] = titles.get(sample['item_id'], '')
        return queries + gallery

    def _query_frames_750k(self) -> dict[str, list[str]]:
        path = self.annotations / 'query_tenframes.json'
        content = expect_type(load_json(path), dict, path, '<root>')
        clips, paths = {}, self.root_paths()
        for clip_id, entry in content.items():
            expect_type(entry, dict, path, clip_id)
            # The official loader reads entry["gt"] (KeyError when absent): require it too.
            for key in ('frames', 'gt'):
                if key not in entry:
                    raise AnnotationError(f'{path}: key {clip_id!r}: missing {key!r}')
            frames = expect_type(entry['frames'], list, path, f'{clip_id}.frames')
            if not frames:
                raise AnnotationError(f'{path}: key {clip_id!r}: empty frame list')
            clips[clip_id] = [paths.join(str(f), path, key=f'{clip_id}.frames', base='query') for f in frames]
        return clips

    def _query_frames_full(self, gt: dict, gt_path: Path) -> dict[str, list[str]]:
        clips, paths = {}, self.root_paths()
        for clip_id in gt:
            # The clip id comes from the GT json: its frame folder (and what it holds) must stay inside the root.
            template = os.path.dirname(self.frame_template.format(clip_id=clip_id, frame_id='x'))
            folder = Path(paths.join(template, gt_path, key=clip_id))
            if folder.is_dir():
                frames = sorted(paths.check(str(p), gt_path, key=clip_id) for p in folder.iterdir()
                                if p.suffix.lower() in ('.jpg', '.jpeg', '.png'))
                if frames:
                    clips[clip_id] = frames
        return clips

    def _keep(self, stem: str) -> bool:
        """``gallery='main'`` keeps ``<image_id>-0`` only; a bare id (no view suffix) is a main image."""
        if self.gallery == 'all':
            return True
        parts = stem.split('-')
        return len(parts) <= 5 or parts[-1] == '0'

    def _gallery_750k(self) -> list[dict]:
        path = self.annotations / 'gallery_main.txt'
        samples, excluded, paths = [], 0, self.root_paths()
        for line, text in read_lines(path):
            if text.count('/') != 1:
                raise AnnotationError(f'{path}:{line}: expected "<live_id>/<file>" with exactly one "/", got {text!r}')
            live_id, name = text.split('/')
            stem = name.rsplit('.', 1)[0]
            if not self._keep(stem):
                excluded += 1
                continue
            samples.append(make_sample(role='gallery', sample_id=f'{live_id}/{stem}',
                                       item_id=dash_prefix(stem),
                                       group_id=live_id, img_path=paths.join(text, path, line, base='gallery'),
                                       meta={'view': stem.split('-')[-1] if len(stem.split('-')) > 5 else '0'}))
        self.stats['excluded_non_main'] = excluded
        return samples

    def _gallery_full(self) -> list[dict]:
        path = find_one(self.annotations, 'test_liveid_to_gallery_*.json')
        content = expect_type(load_json(path), dict, path, '<root>')
        samples, excluded, paths = [], 0, self.root_paths()
        for live_id, ids in content.items():
            for image_id in expect_type(ids, list, path, live_id):
                if not self._keep(str(image_id)):
                    excluded += 1
                    continue
                img = paths.join(self.image_template.format(image_id=image_id), path, key=live_id)
                samples.append(make_sample(role='gallery', sample_id=f'{live_id}/{image_id}',
                                           item_id=dash_prefix(str(image_id)), group_id=live_id, img_path=img))
        self.stats['excluded_non_main'] = excluded
        return samples
