"""Pixels and frame choice against the official pipeline (docs/pipelines.md).

Official behaviour, in our words:

* images are opened with PIL (``Image.open(p).convert('RGB')``), which ignores the EXIF
  ``Orientation`` tag, then torchvision ``Resize((256, 256))`` on the PIL image (PIL's antialiased
  bilinear filter) and ``CenterCrop(224)`` at test time;
* MovingFashion frames come from ``ffmpeg -vf fps=1``: output frame ``k`` is input frame
  ``ceil((k + 1/2)·r) − 1`` at ``r`` frames per second, ``floor(n/r + 1/2)`` frames in all.

torchvision and PIL run here as the reference; ffmpeg is used only when installed.
"""
from __future__ import annotations

import io
import math
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from csa_bench.datasets.media import MediaError, one_fps_indices, read_image
from csa_bench.datasets.transforms import (CenterCropFrames, InitVideoReader, LoadFrames, LoadShopImage,
                                           ResizeFrames)

torchvision_transforms = pytest.importorskip('torchvision.transforms')


def _photo(h: int = 389, w: int = 577, seed: int = 0) -> np.ndarray:
    """A photo-like RGB image: smooth gradients, a few hard edges and sensor-like noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.stack([255 * x / w, 255 * y / h, 127 + 120 * np.sin(x / 17.0) * np.cos(y / 23.0)], -1)
    img[(x // 40 + y // 40) % 7 == 0] = (250, 30, 60)  # sharp-edged patches alias under a bad filter
    img += rng.normal(0, 18, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _jpeg(path: Path, pixels: np.ndarray, **save_kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, 'JPEG', quality=92, **save_kwargs)
    return path


def _official(path: Path, crop: int | None = 224) -> np.ndarray:
    """The official eval transform up to the tensor conversion, on a PIL image."""
    steps = [torchvision_transforms.Resize((256, 256))]
    if crop:
        steps.append(torchvision_transforms.CenterCrop(crop))
    out = torchvision_transforms.Compose(steps)(Image.open(path).convert('RGB'))
    return np.asarray(out)


def test_resize_and_crop_are_pixel_exact_to_torchvision_on_pil(tmp_path: Path) -> None:
    path = _jpeg(tmp_path / 'shop.jpg', _photo())
    frames = [_photo(300, 200, seed=1), _photo(720, 1280, seed=2)]
    frame_paths = [_jpeg(tmp_path / f'f{i}.jpg', f) for i, f in enumerate(frames)]
    results = LoadShopImage()({'img_path': str(path)})
    results['imgs'] = [read_image(p) for p in frame_paths]
    resized = ResizeFrames(size=256)(results)
    # Resize alone (the training crop is random) and resize + centre crop (evaluation).
    assert np.array_equal(resized['img'], _official(path, crop=None))
    out = CenterCropFrames(size=224)(resized)
    assert np.array_equal(out['img'], _official(path))
    for got, p in zip(out['imgs'], frame_paths, strict=True):
        assert got.shape == (224, 224, 3) and np.array_equal(got, _official(p))


def test_cv2_backend_is_the_old_non_antialiased_path(tmp_path: Path) -> None:
    path = _jpeg(tmp_path / 'shop.jpg', _photo())
    img = read_image(path)
    old = ResizeFrames(size=256, backend='cv2')({'img': img})['img']
    assert np.array_equal(old, cv2.resize(img, (256, 256), interpolation=cv2.INTER_LINEAR))
    diff = np.abs(old.astype(int) - _official(path, crop=None))
    assert diff.mean() > 1.0 and diff.max() > 40  # the difference the official pipeline avoids
    with pytest.raises(ValueError, match='backend must be one of'):
        ResizeFrames(backend='torch')
    with pytest.raises(ValueError, match="not available with backend 'pillow'"):
        ResizeFrames(interpolation='area')


def test_exif_orientation_is_ignored_like_pil(tmp_path: Path) -> None:
    stored = _photo(48, 80)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: "rotate 90° CW to display"
    path = _jpeg(tmp_path / 'rotated.jpg', stored, exif=exif.tobytes())
    assert Image.open(path).getexif()[0x0112] == 6
    pil = np.asarray(Image.open(path).convert('RGB'))
    ours = read_image(path)
    assert pil.shape == ours.shape == (48, 80, 3)  # not rotated
    # PIL and OpenCV link the same libjpeg-turbo build here; allow a decoder's rounding otherwise.
    assert np.abs(pil.astype(int) - ours).max() <= 2
    # OpenCV's default colour decode would have rotated the grid (the behaviour we turned off).
    assert read_image(path, exif_orientation=True).shape == (80, 48, 3)
    assert LoadShopImage()({'img_path': str(path)})['img'].shape == (48, 80, 3)
    # The V1 configs opt back in: the V1 code decodes with cv2.imread's default flags.
    assert LoadShopImage(exif_orientation=True)({'img_path': str(path)})['img'].shape == (80, 48, 3)
    frames = LoadFrames(exif_orientation=True)({'frame_inds': [0], 'frame_paths': [str(path)]})['imgs']
    assert frames[0].shape == (80, 48, 3)
    assert LoadFrames()({'frame_inds': [0], 'frame_paths': [str(path)]})['imgs'][0].shape == (48, 80, 3)


# -- ffmpeg fps=1 ---------------------------------------------------------------------------------
def _ffmpeg_formula(n: int, rate: float) -> list[int]:
    """The official extraction written directly from its definition, in floats with a margin."""
    count = math.floor(n / rate + 0.5 + 1e-9)
    return [math.ceil((k + 0.5) * rate - 1e-9) - 1 for k in range(count)]


@pytest.mark.parametrize('rate', [1, 2, 8, 12.5, 15, 23.976, 24, 25, 29.97, 30, 59.94, 60])
def test_one_fps_indices_follow_ffmpeg(rate: float) -> None:
    for n in list(range(0, 130)) + [431, 900, 1799, 1800, 1801]:
        assert one_fps_indices(n, rate) == _ffmpeg_formula(n, rate), (n, rate)


def test_one_fps_indices_hand_cases() -> None:
    # 30 fps, 10 s: frames 14, 44, ... (the middle of each second), ten of them.
    assert one_fps_indices(300, 30.0) == [14 + 30 * k for k in range(10)]
    # 25 fps: (k + 1/2)·25 = 12.5 -> frame 12; 3.4 s -> round(3.4) = 3 frames, 3.5 s -> 4.
    assert one_fps_indices(85, 25.0) == [12, 37, 62]
    assert one_fps_indices(88, 25.0) == [12, 37, 62, 87]
    # 2 fps: (k + 1/2)·2 is an integer: it rounds to the next tick, so frame 2k is kept.
    assert one_fps_indices(7, 2.0) == [0, 2, 4, 6]
    # NTSC 30000/1001 in exact arithmetic.
    assert one_fps_indices(300, 30000 / 1001) == [14, 44, 74, 104, 134, 164, 194, 224, 254, 284]
    # Shorter than half a second: ffmpeg writes nothing.
    assert one_fps_indices(14, 30.0) == [] and one_fps_indices(15, 30.0) == [14]
    # The earlier rule stays available by name, about half a second earlier.
    assert one_fps_indices(300, 30.0, rule='nearest') == [30 * k for k in range(10)]
    assert one_fps_indices(14, 30.0, rule='nearest') == [0]
    with pytest.raises(ValueError, match='rule must be one of'):
        one_fps_indices(10, 30.0, rule='exact')


def _index_video(path: Path, n: int, fps: int) -> None:
    """An mp4 whose frame i shows i in binary: 8 vertical bars, white for a 1 bit (survives mp4v coding)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), fps, (64, 64))
    for i in range(n):
        frame = np.zeros((64, 64, 3), np.uint8)
        for bit in range(8):
            if i >> bit & 1:
                frame[:, 8 * bit:8 * bit + 8] = 255
        writer.write(frame)
    writer.release()


def _frame_numbers(frames: np.ndarray) -> list[int]:
    bars = frames.reshape(len(frames), 64, 8, 8, 3).mean(axis=(1, 3, 4)) > 128  # (N, 8) bits
    return [int(sum(1 << b for b in range(8) if row[b])) for row in bars]


def test_init_video_reader_decodes_the_ffmpeg_frames(tmp_path: Path) -> None:
    video = tmp_path / 'v.mp4'
    _index_video(video, 61, 6)  # 10.17 s at 6 fps -> 10 output frames: 2, 8, ..., 56
    out = InitVideoReader(fps=1.0, max_frames=None)({'video_path': str(video)})
    assert out['frame_candidates'] == [6 * k + 2 for k in range(10)]
    batch = out['video_reader'].get_batch(out['frame_candidates']).asnumpy()
    assert _frame_numbers(batch) == out['frame_candidates']
    # At most 10 of them with the floor(i·n/10) rule (here all 10).
    assert InitVideoReader()({'video_path': str(video)})['frame_candidates'] == out['frame_candidates']
    old = InitVideoReader(rule='nearest', max_frames=None)({'video_path': str(video)})
    assert old['frame_candidates'] == [6 * k for k in range(10)]
    short = tmp_path / 'short.mp4'
    _index_video(short, 2, 6)
    with pytest.raises(MediaError, match='extracts no frame'):
        InitVideoReader()({'video_path': str(short)})


@pytest.mark.skipif(shutil.which('ffmpeg') is None, reason='ffmpeg is not installed')
def test_init_video_reader_matches_ffmpeg_itself(tmp_path: Path) -> None:
    video = tmp_path / 'v.mp4'
    _index_video(video, 157, 15)
    subprocess.run(['ffmpeg', '-loglevel', 'error', '-i', str(video), '-vf', 'fps=1',
                    str(tmp_path / 'out_%04d.png')], check=True)
    extracted = sorted(tmp_path.glob('out_*.png'))
    numbers = _frame_numbers(np.stack([np.asarray(Image.open(p).convert('RGB')) for p in extracted]))
    out = InitVideoReader(max_frames=None)({'video_path': str(video)})
    assert out['frame_candidates'] == numbers


def test_jpeg_decoders_agree(tmp_path: Path) -> None:
    """The official decode is PIL's; ours is OpenCV's. Both must give the same pixels (4:2:0 JPEG)."""
    buffer = io.BytesIO()
    Image.fromarray(_photo(123, 301)).save(buffer, 'JPEG', quality=85)
    path = tmp_path / 'x.jpg'
    path.write_bytes(buffer.getvalue())
    assert np.abs(np.asarray(Image.open(path).convert('RGB')).astype(int) - read_image(path)).max() <= 2


# -- the published setting: test-time tail cut ----------------------------------------------------
@pytest.mark.parametrize('config, index', [
    ('configs/rice/rice-icl_clipvit-b32_10f_4xb24-5k_lpr4m.py', 0),
    ('configs/rice/rice-icl_clipvit-b32_10f_4xb24-5k_movingfashion.py', 1),
])
def test_official_tailcut_recipe_switches_the_test_pipeline(config: str, index: int) -> None:
    """The --cfg-options recipe in the dataset bases (docs/pipelines.md) reaches SampleFrames."""
    from csa_bench.datasets.transforms import SampleFrames
    from csa_bench.engine.api import load_config

    root = Path(__file__).resolve().parents[2]
    default = load_config(root / config)
    step = default.test_dataloader.dataset.pipeline[index]
    assert step['type'] == 'SampleFrames' and not step.get('test_tail_cut', False)
    assert default.get('tta', 'none') == 'none'
    cfg = load_config(root / config, {f'test_dataloader.dataset.pipeline.{index}.test_tail_cut': True,
                                      'tta': 'official-tailcut'})
    step = dict(cfg.test_dataloader.dataset.pipeline[index])
    assert step.pop('type') == 'SampleFrames' and step['test_tail_cut'] and cfg.tta == 'official-tailcut'
    sampler = SampleFrames(**step)
    np.random.seed(0)
    lengths = [len(sampler({'frame_paths': [f'{i}.jpg' for i in range(10)]})['frame_inds']) for _ in range(200)]
    assert 0.3 < np.mean([n < 10 for n in lengths]) < 0.6  # ~45% of 10-frame queries lose a tail
