"""``RetrievalDataset``: the base of every csa_bench dataset, with the bad-sample policy.

A subclass overrides :meth:`load_data_list` and returns raw samples built with
:func:`csa_bench.structures.make_sample` (the schema: ``role``, ``sample_id``, ``item_id``,
``gt_ids``, ``group_id``, ``frame_paths`` / ``video_path`` / ``img_path``, ``label``,
``category_id``, ``title``, ``asr``, ``meta``). A test split lists its queries first, then its
gallery; training splits hold ``pair`` samples.

**Bad samples** (a missing, truncated or undecodable file met while loading a sample) follow
``on_bad_sample``:

- ``'raise'`` (default): :class:`BadSampleError` naming the sample id and the file.
- ``'skip'``: ``__getitem__`` returns ``None`` and records ``(sample_id, path, reason)``. The sample
  is never replaced by another index (the official loaders retry ``idx + 1`` or loop forever,
  method.md §11.7). Use ``collate_fn=dict(type='retrieval_collate')``, which drops the ``None``
  entries, so a batch is smaller by the number of bad samples. Records are appended to a log file
  (``bad_sample_log``; a fresh temporary file by default) so that the reports of dataloader worker
  processes reach the main process: :attr:`bad_samples` reads it back, de-duplicated, and a hook
  can print it at epoch end.

**Known-missing data** found while *reading annotations* is different: it is reported once, as a
warning listing the files, and kept on the dataset (``missing_files``) and in ``metainfo``
(``missing_queries``: ``{query_id: gt_ids}`` for test queries whose media is absent). The evaluator
must keep those queries in its denominator as misses.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Sequence
from typing import Any

from mmengine.dataset import BaseDataset
from mmengine.logging import print_log
from mmengine.registry import DefaultScope

from ..registry import DATASETS, SCOPE
from ..structures import ROLES, make_sample
from .media import MediaError
from .parsing import AnnotationError, load_json
from .paths import RootPaths

BAD_SAMPLE_POLICIES = ('raise', 'skip')


class BadSampleError(RuntimeError):
    """A sample could not be loaded; the message names the sample id, the file and the reason."""

    def __init__(self, sample_id: str, path: str, reason: str) -> None:
        self.sample_id, self.path, self.reason = sample_id, path, reason
        super().__init__(f'bad sample {sample_id!r}: {path}: {reason}')


@DATASETS.register_module()
class RetrievalDataset(BaseDataset):
    """Base dataset for video-to-shop retrieval; reads a generic annotation file by default.

    The default :meth:`load_data_list` reads mmengine's annotation format
    ``{"metainfo": {...}, "data_list": [sample, ...]}`` (``ann_file``, relative to ``data_root``)
    whose samples follow :mod:`csa_bench.structures`; relative paths are joined to ``data_root``.

    Args:
        ann_file: the annotation file (generic format only; plugins ignore it).
        data_root: dataset root.
        split: ``'train'`` (pairs) or ``'test'`` (queries then gallery); plugins read it.
        pipeline: transforms applied by ``__getitem__``.
        test_mode: evaluation mode (deterministic transforms).
        on_bad_sample: ``'raise'`` or ``'skip'`` (see the module docstring).
        bad_sample_log: where ``'skip'`` records bad samples (JSON lines, appended); default a new
            temporary file.
        allow_outside_root: accept annotation paths that resolve outside ``data_root`` (``..``,
            absolute paths, symlinks leaving it); refused by default (:mod:`csa_bench.datasets.paths`).
        **kwargs: forwarded to ``mmengine.dataset.BaseDataset``.
    """

    def __init__(self, ann_file: str = '', data_root: str = '', split: str = 'train',
                 pipeline: Sequence[dict] = (), test_mode: bool = False, on_bad_sample: str = 'raise',
                 bad_sample_log: str | None = None, allow_outside_root: bool = False, **kwargs: Any) -> None:
        if on_bad_sample not in BAD_SAMPLE_POLICIES:
            raise ValueError(f'on_bad_sample must be one of {BAD_SAMPLE_POLICIES}, got {on_bad_sample!r}')
        if split not in ('train', 'test'):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        self.split = split
        self.allow_outside_root = bool(allow_outside_root)
        self.on_bad_sample = on_bad_sample
        if on_bad_sample == 'skip' and bad_sample_log is None:
            handle, bad_sample_log = tempfile.mkstemp(prefix='csa_bench_bad_samples_', suffix='.jsonl')
            os.close(handle)
        self.bad_sample_log = bad_sample_log
        #: Files named by the annotations but absent on disk (reported once, at load time).
        self.missing_files: list[str] = []
        #: Counters filled by ``load_data_list`` (per role, excluded entries, ...).
        self.stats: dict[str, int] = {}
        # Build the pipeline in our scope so that a dataset also works outside a Runner (CLI, tests).
        with DefaultScope.overwrite_default_scope(SCOPE):
            super().__init__(ann_file=ann_file, data_root=data_root, pipeline=list(pipeline),
                             test_mode=test_mode, **kwargs)

    # -- loading ---------------------------------------------------------------------------------
    def load_data_list(self) -> list[dict]:
        """Read the generic annotation format (see the class docstring)."""
        if not self.ann_file:
            raise AnnotationError(f'{type(self).__name__}: ann_file is required for the generic format')
        content = load_json(self.ann_file)
        if not isinstance(content, dict) or 'data_list' not in content:
            raise AnnotationError(f'{self.ann_file}: expected a dict with a "data_list" key')
        self._metainfo.update(content.get('metainfo', {}))
        paths = self.root_paths()
        samples = []
        for position, raw in enumerate(content['data_list']):
            try:
                sample = make_sample(**raw)
            except (TypeError, ValueError) as exc:
                raise AnnotationError(f'{self.ann_file}: data_list[{position}]: {exc}') from None
            for key in ('video_path', 'img_path'):
                if sample[key]:
                    sample[key] = paths.join(sample[key], self.ann_file, key=f'data_list[{position}].{key}')
            if sample['frame_paths']:
                sample['frame_paths'] = [paths.join(p, self.ann_file, key=f'data_list[{position}].frame_paths')
                                         for p in sample['frame_paths']]
            samples.append(sample)
        return samples

    def root_paths(self) -> RootPaths:
        """A fresh :class:`RootPaths` for one load: joins annotation paths, refusing those outside the root."""
        return RootPaths(self.data_root, self.allow_outside_root)

    def filter_data(self) -> list[dict]:
        """Count the samples per role (before serialisation, where the list is still cheap to walk)."""
        for role in ROLES:
            self.stats[role] = 0
        for sample in self.data_list:
            self.stats[sample['role']] += 1
        return self.data_list

    def full_init(self) -> None:
        """Load the annotations, then report the files they name but the disk lacks, once."""
        if self._fully_initialized:
            return
        super().full_init()
        if self.missing_files:
            listed = ', '.join(self.missing_files[:30]) + (' …' if len(self.missing_files) > 30 else '')
            print_log(f'{type(self).__name__} ({self.split}): {len(self.missing_files)} file(s) named by '
                      f'the annotations are missing: {listed}', logger='current', level=logging.WARNING)

    def note_missing(self, relpath: str) -> None:
        """Record a file that the annotations name but the disk lacks."""
        self.missing_files.append(relpath)

    @property
    def missing_queries(self) -> dict[str, list[str]]:
        """Test queries whose media is missing: ``{query_id: gt_ids}`` (misses for the metric)."""
        return dict(self._metainfo.get('missing_queries', {}))

    # -- access ----------------------------------------------------------------------------------
    def __getitem__(self, idx: int) -> dict | None:
        """Run the pipeline on sample ``idx``; a bad sample raises or (skip) returns ``None``."""
        if not self._fully_initialized:
            self.full_init()
        data = self.get_data_info(idx)
        try:
            return self.pipeline(data)
        except (MediaError, OSError) as exc:
            path = getattr(exc, 'path', None) or getattr(exc, 'filename', None) or '?'
            reason = getattr(exc, 'reason', None) or str(exc)
            if self.on_bad_sample == 'raise':
                raise BadSampleError(data['sample_id'], str(path), reason) from exc
            self._record_bad(data['sample_id'], str(path), reason)
            return None

    def _record_bad(self, sample_id: str, path: str, reason: str) -> None:
        record = json.dumps([sample_id, path, reason], ensure_ascii=False) + '\n'
        # O_APPEND writes of one short line are atomic, so worker processes can share the file.
        handle = os.open(self.bad_sample_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(handle, record.encode('utf-8'))
        finally:
            os.close(handle)

    @property
    def bad_samples(self) -> list[tuple[str, str, str]]:
        """Skipped samples so far, across worker processes: ``(sample_id, path, reason)``, unique."""
        if not self.bad_sample_log or not os.path.isfile(self.bad_sample_log):
            return []
        seen: dict[tuple[str, str, str], None] = {}
        with open(self.bad_sample_log, encoding='utf-8') as handle:
            for line in handle:
                if line.strip():
                    seen[tuple(json.loads(line))] = None
        return list(seen)

    def bad_sample_report(self) -> str:
        """A human-readable report of :attr:`bad_samples` (one line each, with the count)."""
        bad = self.bad_samples
        lines = [f'{type(self).__name__} ({self.split}): {len(bad)} bad sample(s) skipped']
        lines += [f'  {sid}: {path}: {reason}' for sid, path, reason in bad]
        return '\n'.join(lines)
