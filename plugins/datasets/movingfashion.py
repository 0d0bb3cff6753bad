"""MovingFashion (SEAM-Match-RCNN, Godi et al., 2022): social-media videos -> shop images.

Paper: *MovingFashion: a Benchmark for the Video-to-Shop Challenge*, M. Godi, C. Joppi,
G. Skenderi, M. Cristani, WACV 2022. Data: https://github.com/HumaticsLAB/SEAM-Match-RCNN
(CC BY-NC-SA 4.0). Statistics (audit of the official archive, datasets.md §5): train 12,648
products / 13,703 video-image pairs / 13,526 videos; test 1,342 products / 1,329 videos / 1,341
images, 13 videos shared by two products; 22 train videos and 1 test video are missing from the
archive. Sources: 1 = regular (``.jpg`` images), 0 = hard (``.png``).

Raw release (read directly, ``annotation='raw'``; mp4 decoded with decord at 1 fps, ≤10 frames
with the ``floor(i·n/10)`` rule by the ``InitVideoReader`` transform)::

    <root>/train.json, test.json     {product_id: {"img_path", "video_paths", "source", "tracklets"?}}
    <root>/videos/<name>.mp4
    <root>/imgs/<name>.jpg|.png

CSA-prepared annotations (``annotation='prepared'``, datasets.md §6; frames extracted to PNG)::

    <root>/annotations/query_tenframes.json              {video_stem: {"frames": [...], "gt": img_stem}}
    <root>/annotations/video_to_gt.json                  {video_stem: {"gt": img_stem, "source": 0|1}}
    <root>/annotations/gallery_full.txt                  img_path per line (one duplicate line)
    <root>/annotations/training_videoinfo_full.txt       stem, frame list, img_stem, img_path, source
    <root>/annotations/videoid_videopath_imagepath_srcid.txt   stem, video_path, img_path, source

Ids: ``video_stem`` / ``img_stem`` = base name up to the first ``.``. The gallery is global
(``group_id`` None) and keeps the duplicated image line. A video shared by two products takes the
**last** product's image as its single GT (official parity); ``multi_gt=True`` keeps both.
Missing videos are reported by name and count (``missing_files``); missing test queries stay in
``metainfo['missing_queries']`` with their GT. **Denominator:** the official metric divides by
``len(video_to_gt.json)``, the videos that have frames (1,328 of the 1,329 test videos), so by
default (``missing_queries='exclude'``) the metric leaves them out of the denominator and reports
their count as ``n_excluded``; ``missing_queries='miss'`` counts them as misses instead (the earlier
csa_bench rule, dividing by 1,329; useful to see what an incomplete local copy costs). See
docs/protocols.md, "Missing queries".
``meta`` holds ``source`` (the breakdown key), ``product_id``, ``frame_source`` and any tracklet.
"""
from __future__ import annotations

import os
from pathlib import Path

from csa_bench.datasets import RetrievalDataset
from csa_bench.datasets.parsing import (
    AnnotationError,
    expect_type,
    load_json,
    parse_int,
    parse_list_literal,
    read_lines,
    read_tsv,
)
from csa_bench.registry import DATASETS
from csa_bench.structures import make_sample

#: Known to be absent from the official archive (datasets.md §5); reported as such by ``data check``.
KNOWN_MISSING = {
    'test': ('videos/bd6186ecf66d1a5c2d65ff3c891c7e44.mp4',),
    'train': tuple(f'videos/{name}.mp4' for name in (
        '0096903c8314b3870a7af2a425953536', '0476509b035f59bfc009827ac4d8bafc', '0580eb0b3128457511e09c4503391e64',
        '1242272_detail', '154532233c6ad4de20f01bd51b0fc1d0', '267e49a2051bbaedfe76d3ee2a20cd58',
        '3360fdc695014ce440aff4cb97afadbb', '47780e36140c63e91131555823fef909', '5330d0e23a7327d55685380893109692',
        '57893f18394ef329b66e35c345608694', '583c1c541b19369daa6ab457c9239455', '5f2fc22016a5e6935543dba09744032e',
        '784d4f0f64ddca7ff8d7c30b4d356e07', '7a8f7e95a14ed9d5f61875592ccc052b', '7ead8a1d0646890d2d509c91ce2e4872',
        '97210917e5c1423fb977e1ad54a3434b', 'b2d1b95537f74557b78636c417a409ce', 'b959460caa57d3a0144f097756485106',
        'c8ec36fdca477f3828313f91cbf2d370', 'e1fa86dc926d29771ee89d8bc811487e', 'e5e722166385f10fd462af377e3be7b5',
        'f386b23468d1ffda850fef2f8aa438cb')),
}


def stem(path: str) -> str:
    """A file's base name up to its first ``.`` (CSA's ``video_stem`` / ``img_stem``)."""
    return os.path.basename(path).split('.', 1)[0]


@DATASETS.register_module()
class MovingFashionDataset(RetrievalDataset):
    """MovingFashion video-to-shop retrieval (module docstring: layout, ids, missing files).

    Args:
        data_root: the dataset root.
        split: ``'train'`` (pairs) or ``'test'`` (queries, then the global gallery).
        annotation: ``'raw'`` (official JSON + mp4) or ``'prepared'`` (CSA annotation files).
        multi_gt: keep every product of a shared test video as GT (default: the last, as CSA).
        missing_queries: ``'exclude'`` (official: test videos without frames are not queries) or
            ``'miss'`` (they count as misses in the denominator).
        **kwargs: forwarded to :class:`RetrievalDataset`.
    """

    METAINFO = {'dataset_name': 'movingfashion'}

    def __init__(self, data_root: str, split: str = 'train', annotation: str = 'raw', multi_gt: bool = False,
                 missing_queries: str = 'exclude', **kwargs) -> None:
        if annotation not in ('raw', 'prepared'):
            raise ValueError(f"annotation must be 'raw' or 'prepared', got {annotation!r}")
        if missing_queries not in ('exclude', 'miss'):
            raise ValueError(f"missing_queries must be 'exclude' or 'miss', got {missing_queries!r}")
        self.missing_query_policy = missing_queries
        self.annotation = annotation
        self.multi_gt = multi_gt
        super().__init__(data_root=data_root, split=split, **kwargs)

    def _abs(self, rel: str) -> str:
        return os.path.join(self.data_root, rel)

    def load_data_list(self) -> list[dict]:
        # The metric reads the policy from the metainfo (csa_bench.evaluation.metric.MISSING_POLICY_KEY).
        self._metainfo.update(annotation=self.annotation, missing_queries={},
                              missing_query_policy=self.missing_query_policy)
        if self.annotation == 'raw':
            return self._load_raw()
        return self._load_prepared_train() if self.split == 'train' else self._load_prepared_test()

    # -- raw release -------------------------------------------------------------------------------
    def _products(self) -> tuple[Path, dict]:
        path = Path(self.data_root) / f'{self.split}.json'
        content = expect_type(load_json(path), dict, path, '<root>')
        for pid, entry in content.items():
            expect_type(entry, dict, path, pid)
            for key in ('img_path', 'video_paths', 'source'):
                if key not in entry:
                    raise AnnotationError(f'{path}: product {pid!r}: missing key {key!r}')
            videos = expect_type(entry['video_paths'], list, path, f'{pid}.video_paths')
            if not videos:
                raise AnnotationError(f'{path}: product {pid!r}: empty video_paths')
            if entry['source'] not in (0, 1):
                raise AnnotationError(f'{path}: product {pid!r}: source must be 0 or 1, got {entry["source"]!r}')
            tracklets = entry.get('tracklets')
            if tracklets is not None and len(expect_type(tracklets, list, path,
                                                         f'{pid}.tracklets')) != len(videos):
                raise AnnotationError(f'{path}: product {pid!r}: {len(tracklets)} tracklets for {len(videos)} videos')
        return path, content

    def _load_raw(self) -> list[dict]:
        path, products = self._products()
        paths = self.root_paths()
        pairs, videos = [], {}  # videos: stem -> (rel path, [(product id, entry, tracklet)])
        for pid, entry in products.items():
            # Checked here (not at use) so that every entry, present or missing, is judged once.
            paths.join(str(entry['img_path']), path, key=f'{pid}.img_path')
            for k, rel in enumerate(entry['video_paths']):
                paths.join(str(rel), path, key=f'{pid}.video_paths[{k}]')
                tracklet = entry['tracklets'][k] if entry.get('tracklets') else None
                videos.setdefault(stem(rel), (rel, []))[1].append((pid, entry, tracklet))
        present = {}
        for video_stem, (rel, _) in videos.items():
            present[video_stem] = os.path.isfile(self._abs(rel))
            if not present[video_stem]:
                self.note_missing(rel)
        if self.split == 'train':
            labels = {s: i for i, s in enumerate(sorted({stem(e['img_path']) for e in products.values()}))}
            for video_stem, (rel, owners) in videos.items():
                if not present[video_stem]:
                    continue
                for pid, entry, tracklet in owners:
                    img_stem = stem(entry['img_path'])
                    pairs.append(make_sample(
                        role='pair', sample_id=f'{pid}/{video_stem}', item_id=img_stem, video_path=self._abs(rel),
                        img_path=self._abs(entry['img_path']), label=labels[img_stem],
                        meta=self._meta(pid, entry['source'], 'decord-1fps', tracklet)))
            return pairs
        queries = []
        for video_stem, (rel, owners) in videos.items():
            gt_ids = list(dict.fromkeys(stem(entry['img_path']) for _, entry, _ in owners))
            # Parity: CSA's video_to_gt.json keeps the last product listing the video (JSON order).
            pid, entry, tracklet = owners[-1]
            gt_ids = gt_ids if self.multi_gt else [stem(entry['img_path'])]
            if not present[video_stem]:
                self._metainfo['missing_queries'][video_stem] = gt_ids
                continue
            queries.append(make_sample(role='query', sample_id=video_stem, gt_ids=gt_ids,
                                       video_path=self._abs(rel),
                                       meta=self._meta(pid, entry['source'], 'decord-1fps', tracklet)))
        gallery = [(entry['img_path'], pid, entry['source']) for pid, entry in products.items()]
        return queries + self._gallery(gallery)

    @staticmethod
    def _meta(pid: str, source: int, frame_source: str, tracklet: dict | None = None) -> dict:
        meta = {'product_id': pid, 'source': int(source), 'frame_source': frame_source}
        if tracklet is not None:
            meta['tracklet'] = tracklet
        return meta

    def _gallery(self, entries: list[tuple[str, str, int]]) -> list[dict]:
        """One gallery entry per line, duplicates kept (as ``gallery_full.txt``): ids get ``#k`` suffixes."""
        seen: dict[str, int] = {}
        samples = []
        for rel, pid, source in entries:
            img_stem = stem(rel)
            count = seen.get(img_stem, 0)
            seen[img_stem] = count + 1
            samples.append(make_sample(role='gallery',
                                       sample_id=img_stem if not count else f'{img_stem}#{count}',
                                       item_id=img_stem, img_path=self._abs(rel),
                                       meta={'product_id': pid, 'source': source}))
        self.stats['duplicate_gallery_lines'] = sum(c - 1 for c in seen.values())
        return samples

    # -- CSA-prepared annotations ------------------------------------------------------------------
    def _load_prepared_train(self) -> list[dict]:
        path = Path(self.data_root) / 'annotations' / 'training_videoinfo_full.txt'
        rows = list(read_tsv(path, 5))
        labels = {s: i for i, s in enumerate(sorted({f[2] for _, f in rows}))}
        pairs, paths = [], self.root_paths()
        for line, (video_stem, frames, img_stem, img_path, source) in rows:
            frame_paths = [paths.join(str(p), path, line) for p in parse_list_literal(frames, path, line)]
            if not frame_paths:
                raise AnnotationError(f'{path}:{line}: video {video_stem} lists no frames')
            pairs.append(make_sample(
                role='pair', sample_id=f'{img_stem}/{video_stem}', item_id=img_stem, frame_paths=frame_paths,
                img_path=paths.join(img_path, path, line), label=labels[img_stem],
                meta=self._meta('', parse_int(source, path, line, 'source'), 'ffmpeg-1fps')))
        return pairs

    def _load_prepared_test(self) -> list[dict]:
        ann = Path(self.data_root) / 'annotations'
        index_path = ann / 'videoid_videopath_imagepath_srcid.txt'
        owners: dict[str, list[tuple[str, int]]] = {}
        for line, (video_stem, _, img_path, source) in read_tsv(index_path, 4):
            owners.setdefault(video_stem, []).append((stem(img_path), parse_int(source, index_path, line,
                                                                                'source')))
        to_gt = expect_type(load_json(ann / 'video_to_gt.json'), dict, ann / 'video_to_gt.json', '<root>')
        query_path = ann / 'query_tenframes.json'
        tenframes = expect_type(load_json(query_path), dict, query_path, '<root>')
        queries, paths = [], self.root_paths()
        for video_stem, entry in tenframes.items():
            if video_stem not in owners:
                raise AnnotationError(f'{query_path}: video {video_stem!r} is not in {index_path.name}')
            frames = expect_type(expect_type(entry, dict, query_path, video_stem).get('frames'), list,
                                 query_path,
                                 f'{video_stem}.frames')
            last_gt, source = owners[video_stem][-1]
            gt_single = to_gt.get(video_stem, {}).get('gt', last_gt)
            gt_ids = list(dict.fromkeys(g for g, _ in owners[video_stem])) if self.multi_gt else [gt_single]
            queries.append(make_sample(role='query', sample_id=video_stem, gt_ids=gt_ids,
                                       frame_paths=[paths.join(str(f), query_path, key=f'{video_stem}.frames')
                                                    for f in frames],
                                       meta=self._meta('', source, 'ffmpeg-1fps')))
        for video_stem, own in owners.items():
            if video_stem not in tenframes:
                gts = list(dict.fromkeys(g for g, _ in own)) if self.multi_gt else [own[-1][0]]
                self._metainfo['missing_queries'][video_stem] = gts
                self.note_missing(f'query {video_stem} (no extracted frames)')
        sources = {stem(img): src for rows in owners.values() for img, src in rows}
        gallery_path, gallery = ann / 'gallery_full.txt', []
        for line, text in read_lines(gallery_path):
            paths.join(text, gallery_path, line)   # refuses an entry outside the root; _gallery joins it
            gallery.append((text, '', sources.get(stem(text), -1)))
        return queries + self._gallery(gallery)
