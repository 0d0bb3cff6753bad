"""Format tools for ``csa-bench data synth|check``: one object per on-disk format in ``DATA_TOOLS``.

``check`` parses the annotations with the dataset class (every parse error names file and line),
resolves ids (ground truth against the query's gallery, empty galleries), then opens every media
file in worker processes (:func:`csa_bench.datasets.check.verify_media`).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

from csa_bench.datasets.check import CheckReport, verify_media
from csa_bench.datasets.parsing import AnnotationError
from csa_bench.registry import DATA_TOOLS

from .lpr4m import TRAIN_FILES_750K, TRAIN_FILES_FULL, LPR4MDataset, detect_layout
from .movingfashion import KNOWN_MISSING, MovingFashionDataset
from .preparation import (
    LPR4M_ARCHIVES,
    LPR4M_URL,
    MOVINGFASHION_ARCHIVES,
    MOVINGFASHION_PAGE,
    prepare_lpr4m,
    prepare_movingfashion,
)
from .synthetic.lpr4m import write_lpr4m
from .synthetic.movingfashion import write_movingfashion


def _load(report: CheckReport, factory, split: str):
    """Build one split's dataset; a parse error becomes a report error (and ``None``)."""
    try:
        return factory(split)
    except (AnnotationError, ValueError, KeyError, OSError) as exc:
        report.errors.append(f'{split}: {exc}')
        return None


def _samples(dataset) -> list[dict]:
    return [dataset.get_data_info(i) for i in range(len(dataset))]


def _resolve(report: CheckReport, samples: list[dict], per_group: bool) -> None:
    """Every query's ground truth must be in its gallery; a gallery with queries must not be empty."""
    queries = [s for s in samples if s['role'] == 'query']
    gallery = [s for s in samples if s['role'] == 'gallery']
    items: dict = defaultdict(set)
    for s in gallery:
        items[s['group_id'] if per_group else None].add(s['item_id'])
    groups = Counter(s['group_id'] for s in queries)
    for group, n in groups.items():
        key = group if per_group else None
        if not items.get(key):
            report.errors.append(f'test: empty gallery for {"live " + str(group) if per_group else "the test split"} '
                                 f'({n} queries)')
    for s in queries:
        key = s['group_id'] if per_group else None
        if not s['gt_ids']:
            report.errors.append(f'test: query {s["sample_id"]} has no ground-truth id')
        for gid in s['gt_ids']:
            if items.get(key) and gid not in items[key]:
                where = f'the gallery of live {key}' if per_group else 'the gallery'
                report.errors.append(f'test: query {s["sample_id"]}: ground-truth id {gid} is not in {where}')


def _tally(report: CheckReport, split: str, samples: list[dict]) -> list[tuple[str, str]]:
    """Count roles, groups and frames; return the media files to verify."""
    tasks, frames = [], []
    for s in samples:
        report.counts[f'{split}/{s["role"]}'] = report.counts.get(f'{split}/{s["role"]}', 0) + 1
        group = str(s['group_id'] if s['group_id'] is not None else s['meta'].get('source', '-'))
        slot = report.per_group.setdefault(group, {})
        slot[s['role']] = slot.get(s['role'], 0) + 1
        if s['frame_paths']:
            frames.append(len(s['frame_paths']))
            tasks += [('image', p) for p in s['frame_paths']]
        if s['video_path']:
            tasks.append(('video', s['video_path']))
        if s['img_path']:
            tasks.append(('image', s['img_path']))
    report.add_frame_counts(split, frames)
    return tasks


def _finish(report: CheckReport, tasks: list[tuple[str, str]], workers: int, progress: bool,
            verify_files: bool = True) -> CheckReport:
    if not verify_files:  # annotations only (``csa-bench doctor``'s quick data check): no file is opened
        return report
    checked, errors = verify_media(tasks, workers, f'checking {report.format} files', show_progress=progress)
    report.files_checked = checked
    report.errors += errors
    return report


class LPR4MTool:
    """``lpr4m`` tool: the LPR750K package or the full-release layout (told apart by its annotation files)."""

    name = 'lpr4m'
    dataset_type = 'LPR4MDataset'  # the config ``type`` this tool checks (``csa-bench doctor``)
    # ``csa-bench data prepare``: the official archives, where they are served, the steps after extraction.
    archives = LPR4M_ARCHIVES
    default_url = LPR4M_URL
    source_page = LPR4M_URL
    prepare = staticmethod(prepare_lpr4m)

    #: What ``detect`` looks for (named in the CLI's error when a folder matches no format).
    layouts = ('the LPR750K package (annotations/gallery_main.txt, query_tenframes.json, '
               'training_videoinfo_750k.txt) or the full release (annotations/test_liveid_to_gallery_*.json, '
               'training_videoinfo_full_part_*.txt)')

    @staticmethod
    def detect(root: Path) -> str | None:
        """``'lpr750k'`` or ``'full'`` when ``root`` holds that layout's annotation files, else None.

        Only files that MovingFashion's prepared layout lacks count (both have ``query_tenframes.json``;
        MovingFashion's comes with ``video_to_gt.json``)."""
        ann = Path(root) / 'annotations'
        if (ann / 'gallery_main.txt').is_file() or any((ann / n).is_file() for n in TRAIN_FILES_750K) \
                or any(ann.glob('test_videoid_to_gtimage_*.json')) \
                or ((ann / 'query_tenframes.json').is_file() and not (ann / 'video_to_gt.json').is_file()):
            return 'lpr750k'
        if any(ann.glob('test_liveid_to_gallery_*.json')) or any(ann.glob(TRAIN_FILES_FULL)):
            return 'full'
        return None

    @staticmethod
    def synthesize(out: Path, seed: int, size: str) -> dict:
        """Write a synthetic LPR750K-layout benchmark (see ``synthetic.lpr4m``); returns counts."""
        return write_lpr4m(Path(out), seed, size)

    @classmethod
    def check(cls, root: Path, workers: int = 1, progress: bool = True,
              allow_outside_root: bool = False, verify_files: bool = True) -> CheckReport:
        """Validate an LPR4M root (either layout); entries leaving the root are errors unless allowed.
        ``verify_files=False`` parses and resolves the annotations without opening any media file."""
        report = CheckReport(root=str(root), format=cls.name)
        tasks = []
        for split in ('train', 'test'):
            try:
                layout = detect_layout(root, split)
            except AnnotationError as exc:
                report.errors.append(f'{split}: {exc}')
                continue
            report.layout = ' + '.join(dict.fromkeys(filter(None, [report.layout, layout])))
            dataset = _load(report, lambda s, lay=layout: LPR4MDataset(
                data_root=str(root), split=s, layout=lay, allow_outside_root=allow_outside_root), split)
            if dataset is None:
                continue
            samples = _samples(dataset)
            tasks += _tally(report, split, samples)
            if split == 'test':
                _resolve(report, samples, per_group=True)
                report.counts['test/excluded_non_main'] = dataset.stats.get('excluded_non_main', 0)
                for clip_id in dataset.missing_queries:
                    report.warnings.append(f'test: ground-truth clip {clip_id} has no query frames (counted as a miss)')
        return _finish(report, tasks, workers, progress, verify_files)


class MovingFashionTool:
    """``movingfashion``: the raw release (``train.json``/``test.json``) or CSA-prepared annotations."""

    name = 'movingfashion'
    dataset_type = 'MovingFashionDataset'
    archives = MOVINGFASHION_ARCHIVES
    default_url = None   # the official link is a share page: the archive is fetched by hand or from --url
    source_page = MOVINGFASHION_PAGE
    prepare = staticmethod(prepare_movingfashion)

    #: What ``detect`` looks for (named in the CLI's error when a folder matches no format).
    layouts = ('the raw release (train.json, test.json, videos/*.mp4, imgs/) or the CSA-prepared '
               'annotations/ (video_to_gt.json, gallery_full.txt, videoid_videopath_imagepath_srcid.txt)')

    @staticmethod
    def detect(root: Path) -> str | None:
        """``'raw'`` or ``'prepared'`` when ``root`` holds that layout's annotation files, else None."""
        root = Path(root)
        if (root / 'train.json').is_file() or (root / 'test.json').is_file():
            return 'raw'
        prepared = ('video_to_gt.json', 'gallery_full.txt', 'videoid_videopath_imagepath_srcid.txt')
        if any((root / 'annotations' / name).is_file() for name in prepared):
            return 'prepared'
        return None

    @staticmethod
    def synthesize(out: Path, seed: int, size: str) -> dict:
        """Write a synthetic raw-layout MovingFashion benchmark; returns counts."""
        return write_movingfashion(Path(out), seed, size)

    @classmethod
    def check(cls, root: Path, workers: int = 1, progress: bool = True,
              allow_outside_root: bool = False, verify_files: bool = True) -> CheckReport:
        """Validate a MovingFashion root (raw release or CSA-prepared annotations); entries leaving the
        root are errors unless allowed. ``verify_files=False``: annotations only (missing videos are
        still reported, the dataset stats them)."""
        root = Path(root)
        raw = (root / 'train.json').is_file() or (root / 'test.json').is_file()
        annotation = 'raw' if raw else 'prepared'
        report = CheckReport(root=str(root), format=cls.name, layout=annotation)
        tasks = []
        for split in ('train', 'test'):
            dataset = _load(report, lambda s: MovingFashionDataset(
                data_root=str(root), split=s, annotation=annotation, allow_outside_root=allow_outside_root), split)
            if dataset is None:
                continue
            for rel in dataset.missing_files:
                if rel in KNOWN_MISSING[split]:
                    report.warnings.append(f'{split}: {rel} is missing (known absent from the official archive)')
                else:
                    report.errors.append(f'{split}: {root / rel}: file not found' if not rel.startswith('query ')
                                         else f'{split}: {rel}')
            samples = _samples(dataset)
            tasks += _tally(report, split, samples)
            if split == 'test':
                _resolve(report, samples, per_group=False)
                report.counts['test/missing_queries'] = len(dataset.missing_queries)
        return _finish(report, tasks, workers, progress, verify_files)


# Registered as classes (the registry stores callables); every method is a static/class method.
DATA_TOOLS.register_module(name='lpr4m', module=LPR4MTool)
DATA_TOOLS.register_module(name='movingfashion', module=MovingFashionTool)
