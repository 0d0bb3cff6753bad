"""Write a synthetic LPR4M benchmark in the LPR750K package layout (datasets.md §4).

Written files (all annotation files atomically; same seed -> byte-identical annotations)::

    annotations/training_videoinfo_750k.txt       10 columns, paths relative to the root
    annotations/query_tenframes.json              ≤10 frames per test clip (floor(i·n/10) rule)
    annotations/test_videoid_to_gtimage_20079.json   {clip_id: [image_id, ...]} (some clips: 2)
    annotations/gallery_main.txt                  <live_id>/<image_id>-<k>.jpg, main and other views
    annotations/test_liveid_to_gallery_110.json   {live_id: [image_id, ...]}
    annotations/test_videoid_asr_20079.txt, test_image_title_6076.txt
    annotations/test_videoinfo_full.txt           11 columns for the test clips (true boxes and
                                                  difficulty columns; csa_bench convention)
    training_video_00/<clip_id>/<frame_id>.jpg, training_image/<image_id>.jpg
    query/<clip_id>/<frame_id>.jpg, gallery/<live_id>/<image_id>-<k>.jpg

The file names keep the official counts so that official tools find them; the real counts are in
the returned summary. Training and test clips show the same shops' products (different renders).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from csa_bench.datasets.media import tenframe_indices
from csa_bench.utils import write_json_atomic

from .common import size_config, write_image, write_tsv_atomic
from .render import render_clip, shop_image
from .world import CATEGORY_NAMES, FAMILIES, make_asr, make_plan, make_shops

EPOCH_MS = 1_690_000_000_000  # clip ids carry 13-digit epoch ms, like the real ones


def _clip_id(live_id: str, counter: int, num_frames: int) -> str:
    start = EPOCH_MS + counter * 600_000
    return f'{live_id}-{start}-{start + num_frames * 1000}'


def write_lpr4m(out: Path, seed: int, size: str) -> dict:
    """Generate the benchmark under ``out``; returns counts (clips, frames, images, lives)."""
    cfg = size_config(size)
    rng = np.random.default_rng(seed)
    out = Path(out)
    ann = out / 'annotations'
    image = cfg['image']
    shops = make_shops(rng, cfg['shops'], cfg['products'])
    train_rows, gallery_lines, gt, tenframes, asr_rows, title_rows, test_rows = [], [], {}, {}, [], [], []
    live_gallery: dict[str, list[str]] = {}
    counter = frames_written = 0
    for shop in shops:
        for index, product in enumerate(shop.products):
            category = str(product.family)
            write_image(out / 'training_image' / f'{product.image_id}.jpg', shop_image(product, 0, image,
                                                                                       rng))
            for _ in range(cfg['train_clips']):
                plan = make_plan(rng, shop, index, cfg['frames'])
                counter += 1
                clip_id = _clip_id(shop.live_id, counter, plan.num_frames)
                frames, _ = render_clip(shop, plan, image)
                rels = [f'training_video_00/{clip_id}/{clip_id}-{t + 1:04d}.jpg' for t in range(len(frames))]
                for rel, frame in zip(rels, frames, strict=True):
                    write_image(out / rel, frame)
                frames_written += len(frames)
                train_rows.append([clip_id, json.dumps(rels), '[]', product.image_id,
                                   f'training_image/{product.image_id}.jpg', product.title, category,
                                   CATEGORY_NAMES[FAMILIES[product.family]], f'spu{product.image_id[:8]}',
                                   make_asr(rng, shop, plan)])
            lo, hi = cfg['test_clips']
            for _ in range(int(rng.integers(lo, hi + 1))):
                plan = make_plan(rng, shop, index, cfg['frames'])
                counter += 1
                clip_id = _clip_id(shop.live_id, counter, plan.num_frames)
                frames, boxes = render_clip(shop, plan, image)
                frame_ids = [f'{clip_id}-{t + 1:04d}' for t in range(len(frames))]
                for frame_id, frame in zip(frame_ids, frames, strict=True):
                    write_image(out / 'query' / clip_id / f'{frame_id}.jpg', frame)
                frames_written += len(frames)
                targets = [shop.products[i].image_id for i in plan.targets]
                gt[clip_id] = targets
                picks = tenframe_indices(len(frame_ids))
                tenframes[clip_id] = {'frames': [f'{clip_id}/{frame_ids[i]}.jpg' for i in picks],
                                      'gt': targets}
                asr = make_asr(rng, shop, plan)
                asr_rows.append([clip_id, asr])
                diff = plan.difficulty()
                test_rows.append([clip_id, json.dumps(frame_ids), json.dumps(boxes), targets[0],
                                  product.title,
                                  category, CATEGORY_NAMES[FAMILIES[product.family]], asr, diff['product_scale'],
                                  diff['visible_duration'], diff['product_number']])
            for view in range(cfg['views']):
                name = f'{product.image_id}-{view}.jpg'
                write_image(out / 'gallery' / shop.live_id / name, shop_image(product, view, image, rng))
                gallery_lines.append(f'{shop.live_id}/{name}')
            live_gallery.setdefault(shop.live_id, []).append(product.image_id)
            title_rows.append([product.image_id, product.title])
    write_tsv_atomic(ann / 'training_videoinfo_750k.txt', train_rows)
    write_tsv_atomic(ann / 'test_videoinfo_full.txt', test_rows)
    write_tsv_atomic(ann / 'test_videoid_asr_20079.txt', asr_rows)
    write_tsv_atomic(ann / 'test_image_title_6076.txt', title_rows)
    write_tsv_atomic(ann / 'gallery_main.txt', [[line] for line in gallery_lines])
    write_json_atomic(ann / 'query_tenframes.json', tenframes)
    write_json_atomic(ann / 'test_videoid_to_gtimage_20079.json', gt)
    write_json_atomic(ann / 'test_liveid_to_gallery_110.json', live_gallery)
    return {'lives': len(shops), 'products': sum(len(s.products) for s in shops),
            'train_clips': len(train_rows),
            'test_clips': len(gt), 'gallery_images': len(gallery_lines), 'frames': frames_written}
