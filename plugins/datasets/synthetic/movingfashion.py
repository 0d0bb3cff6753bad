"""Write a synthetic MovingFashion benchmark in the raw release layout (datasets.md §5).

Written files (``train.json`` / ``test.json`` atomically; same seed -> byte-identical JSON)::

    train.json, test.json     {product_id: {"img_path", "video_paths", "source", "tracklets"?}}
    videos/<32 hex>.mp4       real mp4 (MPEG-4 part 2 via OpenCV, 2 fps) that decord reads
    imgs/<32 hex>.jpg|.png    shop images: .jpg for source 1 (regular), .png for source 0 (hard)

Train and test products are disjoint (as in the real archive). Some training products have two
videos; each test product has the size's ``mf_test_videos`` videos (one query each); one test video
shows two products and is listed under both (a multi-positive query, as the 13 shared test videos of
the real archive). Hard products (source 0) get smaller, shorter, more
occluded appearances. About half the products carry ``tracklets`` (true pixel boxes per frame).
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from csa_bench.utils import write_json_atomic

from .common import size_config, write_image
from .render import render_clip, shop_image
from .world import hex_id, make_plan, make_shops

#: Frame rate of the written videos: 1 fps decoding keeps every other frame.
VIDEO_FPS = 2
#: Share of each shop's products held out for the test split.
TEST_SHARE = 0.3
#: MovingFashion has about one training video per product (LPR4M: ~12 clips per image), so it needs
#: more shops than the LPR4M benchmark of the same size for a usable train set and test gallery. At 5x
#: ('small': 210 train products, a global gallery of 90) the tiny twins learn in their 1,000
#: iterations; at 8x they stayed near chance (3 seeds each, measured with generator version 2). The
#: test queries come from several videos per test product (``mf_test_videos``), not from more shops.
SHOP_SCALE = 5


def write_video(path: Path, frames: list[np.ndarray], fps: int = VIDEO_FPS) -> None:
    """Encode RGB frames to an mp4 with OpenCV (``mp4v``); raise if the writer cannot open."""
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), fps, (w, h))
    if not writer.isOpened():
        raise OSError(f'{path}: OpenCV cannot open an mp4v video writer')
    try:
        for frame in frames:
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()


def write_movingfashion(out: Path, seed: int, size: str, shop_scale: int = SHOP_SCALE) -> dict:
    """Generate the benchmark under ``out``; returns counts (products, videos, images).

    ``shop_scale`` multiplies the size preset's shop count (default :data:`SHOP_SCALE`): a larger
    value gives proportionally more train products/videos, test queries and gallery images.
    """
    if not isinstance(shop_scale, int) or isinstance(shop_scale, bool) or shop_scale < 1:
        raise ValueError(f'shop_scale must be a positive integer, got {shop_scale!r}')
    cfg = size_config(size)
    rng = np.random.default_rng(seed)
    out = Path(out)
    image = cfg['image']
    # MF videos are longer than LPR4M's 1 fps clips: written at 2 fps, 1 fps decoding halves them.
    frames_range = (2 * cfg['frames'][0], 2 * cfg['frames'][1])
    shops = make_shops(rng, cfg['shops'] * shop_scale, cfg['mf_products'])
    splits: dict[str, dict] = {'train': {}, 'test': {}}
    videos = 0
    for shop in shops:
        n_test = max(1, int(round(len(shop.products) * TEST_SHARE)))
        for index, product in enumerate(shop.products):
            split = 'test' if index >= len(shop.products) - n_test else 'train'
            source = 0 if rng.random() < 0.25 else 1
            img_rel = f'imgs/{hex_id(rng, (32,))}.{"png" if source == 0 else "jpg"}'
            write_image(out / img_rel, shop_image(product, 0, image, rng))
            entry = {'img_path': img_rel, 'video_paths': [], 'source': source}
            tracked = rng.random() < 0.5
            tracklets = []
            count = cfg['mf_test_videos'] if split == 'test' else (2 if rng.random() < 0.2 else 1)
            for _ in range(count):
                plan = make_plan(rng, shop, index, frames_range, hard=source == 0, multi_prob=0.0)
                frames, boxes = render_clip(shop, plan, image)
                rel = f'videos/{hex_id(rng, (32,))}.mp4'
                write_video(out / rel, frames)
                videos += 1
                entry['video_paths'].append(rel)
                tracklets.append({str(t): [round(v * image) for v in box] for t,
                                  box in enumerate(boxes) if box})
            if tracked:
                entry['tracklets'] = tracklets
            splits[split][f'{len(splits[split]):06d}'] = entry
    if len(splits['test']) >= 2:
        # One test video shared by two products: the last product lists the first video of the one
        # before instead of its own (whose files are removed), a multi-positive query.
        first, second = (splits['test'][k] for k in list(splits['test'])[-2:])
        for rel in second['video_paths']:
            (out / rel).unlink()
        videos -= len(second['video_paths'])
        second['video_paths'] = [first['video_paths'][0]]
        second.pop('tracklets', None)
    for split, content in splits.items():
        write_json_atomic(out / f'{split}.json', content)
    return {'shops': len(shops), 'train_products': len(splits['train']), 'test_products': len(splits['test']),
            'videos': videos}
