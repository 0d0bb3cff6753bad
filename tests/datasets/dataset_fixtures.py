"""Tiny real-format fixture trees for LPR4M / LPR750K and MovingFashion (datasets.md §7)."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

L1 = '5c1e2a90-31f4-11ee-8d2b-6a0c1e9f4b21'
L2 = '7d2f3b01-42a5-11ee-9e3c-7b1d2fa05c32'
CA = f'{L1}-1690443120000-1690443195000'   # training clip, 10-column row
CB = f'{L1}-1690443300000-1690443352000'   # training clip, 11-column row (single quotes)
CC = f'{L2}-1690443400000-1690443460000'   # training clip, 10-column row with an empty ASR
Q1 = f'{L1}-1690444000000-1690444030000'   # multi-GT query, 12 listed frames
Q2 = f'{L2}-1690445000000-1690445009000'   # query with 3 frames (< 10)
Q3 = f'{L2}-1690446000000-1690446009000'   # in the GT json, absent from query_tenframes
I1 = 'a9d04c3e-31f6-11ee-b1c7-2f8e0d9a7c55'
I2 = 'b20f7e11-31f6-11ee-b1c7-2f8e0d9a7c55'
G1 = 'c31a8d02-31f6-11ee-b1c7-2f8e0d9a7c55'
G2 = 'd42b9e13-31f6-11ee-b1c7-2f8e0d9a7c55'
G3 = 'e53caf24-31f6-11ee-b1c7-2f8e0d9a7c55'


def jpeg(path: Path, value: int = 128, size: int = 16, ext: str = '.jpg') -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.full((size, size, 3), value, np.uint8)
    img[: size // 2, :, 0] = 255 - value
    ok, data = cv2.imencode(ext, img)
    assert ok
    path.write_bytes(data.tobytes())


def mp4(path: Path, frames: int, fps: int = 2, size: int = 32) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), fps, (size, size))
    for t in range(frames):
        writer.write(np.full((size, size, 3), (t * 20) % 256, np.uint8))
    writer.release()


def write_lpr750k(root: Path) -> Path:
    """LPR750K-layout tree covering multi-GT, <10 frames, a -1 view, both list syntaxes, 10/11 columns."""
    ann = root / 'annotations'
    ann.mkdir(parents=True)
    a_frames = [f'training_video_00/{CA}/{CA}-{i:04d}.jpg' for i in (1, 2, 3)]
    c_frames = [f'training_video_01/{CC}/{CC}-0001.jpg']
    rows = [
        [CA, json.dumps(a_frames), '[]', I1, f'training_image/{I1}.jpg', 'red round plate', '3', 'plates',
         'spu9', 'a red plate'],
        [CB, str([f'{CB}-0001', f'{CB}-0002']), '[[0.1, 0.1, 0.5, 0.5], [0.2, 0.2, 0.6, 0.6]]', I2,
         'blue star', '5',
         'ornaments', 'look at this star', 'small', 'short', 'single'],
        [CC, json.dumps(c_frames), '[]', I1, f'training_image/{I1}.jpg', 'red round plate', '3', 'plates',
         '', ''],
    ]
    (ann / 'training_videoinfo_750k.txt').write_text(''.join('\t'.join(r) + '\n' for r in rows))
    for rel in a_frames + c_frames + [f'training_image/{I1}.jpg', f'frames/{CB}/{CB}-0001.jpg',
                                      f'frames/{CB}/{CB}-0002.jpg', f'images/{I2}.jpg']:
        jpeg(root / rel)
    q1 = [f'{Q1}/{Q1}-{i:04d}.jpg' for i in range(1, 13)]
    q2 = [f'{Q2}/{Q2}-{i:04d}.jpg' for i in range(1, 4)]
    for rel in q1 + q2:
        jpeg(root / 'query' / rel)
    (ann / 'query_tenframes.json').write_text(json.dumps({Q1: {'frames': q1, 'gt': [G1, G2]},
                                                          Q2: {'frames': q2, 'gt': [G3]}}))
    (ann / 'test_videoid_to_gtimage_20079.json').write_text(json.dumps({Q1: [G1, G2], Q2: [G3], Q3: [G3]}))
    lines = [f'{L1}/{G1}-0.jpg', f'{L1}/{G1}-1.jpg', f'{L1}/{G2}-0.jpg', f'{L2}/{G3}-0.jpg']
    (ann / 'gallery_main.txt').write_text('\n'.join(lines) + '\n')
    for line in lines:
        jpeg(root / 'gallery' / line)
    (ann / 'test_videoinfo_full.txt').write_text('\t'.join(
        [Q1, '[]', '[]', G1, 'x', '4', 'tiles', 'asr of q1', 'large', 'long', 'multiple']) + '\n')
    return root


def write_lpr4m_full(root: Path) -> Path:
    """Full-release layout: 11-column training part file, GT json and per-live gallery json."""
    ann = root / 'annotations'
    ann.mkdir(parents=True)
    row = [CB, json.dumps([f'{CB}-0001']), '[]', I2, 'blue star', '5', 'ornaments', 'asr', 'medium', 'long',
           'single']
    (ann / 'training_videoinfo_full_part_00.txt').write_text('\t'.join(row) + '\n')
    jpeg(root / 'frames' / CB / f'{CB}-0001.jpg')
    jpeg(root / 'images' / f'{I2}.jpg')
    for i in (2, 1):
        jpeg(root / 'frames' / Q2 / f'{Q2}-{i:04d}.jpg')
    (ann / 'test_videoid_to_gtimage_20079.json').write_text(json.dumps({Q2: [G3]}))
    (ann / 'test_liveid_to_gallery_110.json').write_text(json.dumps({L2: [G3, G2]}))
    for g in (G3, G2):
        jpeg(root / 'images' / f'{g}.jpg')
    return root


def write_movingfashion(root: Path) -> Path:
    """Raw MF tree: 2 videos for one train product, a shared test video, .png for source 0,
    a missing mp4 in each split, a real short mp4, with and without tracklets, a duplicate image."""
    train = {
        'p1': {'img_path': 'imgs/i1.jpg', 'video_paths': ['videos/v1.mp4', 'videos/v2.mp4'], 'source': 1,
               'tracklets': [{'0': [1, 2, 10, 12]}, {'1': [3, 4, 20, 22]}]},
        'p2': {'img_path': 'imgs/i2.png', 'video_paths': ['videos/v3.mp4'], 'source': 0},  # v3.mp4 missing
    }
    test = {
        't1': {'img_path': 'imgs/j1.jpg', 'video_paths': ['videos/s1.mp4'], 'source': 1},
        't2': {'img_path': 'imgs/j2.png', 'video_paths': ['videos/s1.mp4'], 'source': 0},  # shares s1
        't3': {'img_path': 'imgs/j3.jpg', 'video_paths': ['videos/m1.mp4'], 'source': 1},  # m1 missing
        't4': {'img_path': 'imgs/j1.jpg', 'video_paths': ['videos/s2.mp4'], 'source': 1,
               'tracklets': [{'0': [0, 0, 5, 5]}]},
    }
    root.mkdir(parents=True, exist_ok=True)
    (root / 'train.json').write_text(json.dumps(train))
    (root / 'test.json').write_text(json.dumps(test))
    mp4(root / 'videos/v1.mp4', 30)   # 15 s at 2 fps -> 15 one-fps frames -> 10 kept
    mp4(root / 'videos/v2.mp4', 8)
    mp4(root / 'videos/s1.mp4', 12)
    mp4(root / 'videos/s2.mp4', 3)    # a real short mp4: 1.5 s -> 1 frame at 1 fps
    for name in ('i1.jpg', 'i2.png', 'j1.jpg', 'j2.png', 'j3.jpg'):
        jpeg(root / 'imgs' / name, ext='.' + name.split('.')[1])
    return root


def write_mf_prepared(root: Path) -> Path:
    """CSA-prepared MF annotations (datasets.md §6) over PNG frame folders."""
    ann = root / 'annotations'
    ann.mkdir(parents=True)
    frames = {s: [f'frames/{s}/{s}.mp4_{i:04d}.png' for i in range(1, 4)] for s in ('s1', 's2')}
    for paths in frames.values():
        for rel in paths:
            jpeg(root / rel, ext='.png')
    for name in ('i1.jpg', 'j1.jpg', 'j2.png', 'j3.jpg'):
        jpeg(root / 'imgs' / name, ext='.' + name.split('.')[1])
    (ann / 'training_videoinfo_full.txt').write_text('\t'.join(['s2', json.dumps(frames['s2']), 'i1',
                                                                'imgs/i1.jpg', '1']) + '\n')
    rows = [['s1', 'videos/s1.mp4', 'imgs/j1.jpg', '1'], ['s1', 'videos/s1.mp4', 'imgs/j2.png', '0'],
            ['m1', 'videos/m1.mp4', 'imgs/j3.jpg', '1']]
    (ann / 'videoid_videopath_imagepath_srcid.txt').write_text(''.join('\t'.join(r) + '\n' for r in rows))
    (ann / 'gallery_full.txt').write_text('imgs/j1.jpg\nimgs/j2.png\nimgs/j3.jpg\n')
    (ann / 'video_to_gt.json').write_text(json.dumps({'s1': {'gt': 'j2', 'source': 0}}))
    (ann / 'query_tenframes.json').write_text(json.dumps({'s1': {'frames': frames['s1'], 'gt': 'j2'}}))
    return root
