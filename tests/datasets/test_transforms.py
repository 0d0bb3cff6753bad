"""Transform contract tests, parametrized over every transform registered in the csa_bench scope."""
from __future__ import annotations

import copy
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from csa_bench.datasets.media import MediaError, read_image, verify_image_bytes
from csa_bench.datasets.transforms import SampleFrames, tail_cut_length, uniform_indices
from csa_bench.registry import TRANSFORMS

from . import dataset_fixtures as fx


def _frames(tmp: Path, n: int = 12) -> list[str]:
    paths = []
    for i in range(n):
        path = tmp / 'clip' / f'{i:04d}.jpg'
        fx.jpeg(path, value=10 * i, size=40)
        paths.append(str(path))
    return paths


def _inputs(name: str, tmp: Path) -> tuple[dict, dict]:
    """(constructor kwargs, input results) for each registered transform."""
    rng = np.random.default_rng(0)
    loaded = {'imgs': [rng.integers(0, 255, (40, 48, 3), dtype=np.uint8) for _ in range(3)],
              'img': rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)}
    video = tmp / 'v.mp4'
    fx.mp4(video, 12)
    img = tmp / 'shop.jpg'
    fx.jpeg(img, size=40)
    base = {'role': 'pair', 'sample_id': 'x', 'item_id': 'y', 'meta': {}}
    table = {
        'SampleFrames': ({'num_frames': 10}, dict(base, frame_paths=_frames(tmp))),
        'InitVideoReader': ({}, dict(base, video_path=str(video))),
        'LoadFrames': ({}, dict(base, frame_paths=_frames(tmp), frame_inds=[0, 5, 11])),
        'LoadShopImage': ({}, dict(base, img_path=str(img))),
        'ResizeFrames': ({'size': 32}, dict(base, **loaded)),
        'RandomCropFrames': ({'size': 24}, dict(base, **loaded)),
        'CenterCropFrames': ({'size': 24}, dict(base, **loaded)),
        'RandomFlipFrames': ({}, dict(base, **loaded)),
        'PackRetrievalInputs': ({'num_frames': 5}, dict(base, **loaded)),
        # V1 test pipeline (csa_bench/datasets/transforms/v1_test.py).
        'ListFolderFrames': ({'suffix': '.jpg'}, dict(base, role='query', frame_paths=_frames(tmp)[:3])),
        'PILResizeFrames': ({'size': 32}, dict(base, **loaded)),
    }
    return table[name]


NAMES = sorted(TRANSFORMS.module_dict)


def test_every_transform_has_a_contract_input(tmp_path: Path) -> None:
    for name in NAMES:
        _inputs(name, tmp_path)  # a KeyError names a transform without contract coverage


def _same(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a if k != 'video_reader')
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    return a == b


@pytest.mark.parametrize('name', NAMES)
def test_contract(name: str, tmp_path: Path) -> None:
    kwargs, results = _inputs(name, tmp_path)
    cls = TRANSFORMS.get(name)
    transform = cls(**kwargs)
    assert cls.__doc__ and 'Required keys' in cls.__doc__ and 'Added keys' in cls.__doc__
    text = repr(transform)
    assert text.startswith(name + '(')
    for key in kwargs:
        assert f'{key}=' in text
    # Same seed, same output: deterministic given the random state (test-mode transforms always).
    outs = []
    for _ in range(2):
        np.random.seed(3)
        outs.append(transform(copy.deepcopy(results)))
    assert _same(outs[0], outs[1])
    # Pass-through on a sample without the transform's inputs (queries lack images, gallery frames).
    assert transform(dict(role='gallery', sample_id='g', meta={})) is not None


def test_sample_frames_rules() -> None:
    assert uniform_indices(25, 10, 'v2') == np.floor(np.linspace(0, 24, 10)).astype(int).tolist()
    assert uniform_indices(25, 10, 'v2')[-1] == 24
    assert uniform_indices(25, 10, 'v1') == [i * 25 // 10 for i in range(10)]
    assert uniform_indices(25, 10, 'v1') == np.floor(np.linspace(0, 25, 10,
                                                                 endpoint=False)).astype(int).tolist()
    assert uniform_indices(7, 10) == list(range(7))
    # Test mode: deterministic and no tail cut, whatever the random state.
    sampler = SampleFrames(num_frames=10, test_mode=True)
    outs = {tuple(sampler({'frame_paths': list(range(10))})['frame_inds']) for _ in range(30)}
    assert outs == {tuple(range(10))}
    # The official test-time tail cut on demand.
    noisy = SampleFrames(num_frames=10, test_mode=True, test_tail_cut=True)
    np.random.seed(0)
    assert len({len(noisy({'frame_paths': list(range(10))})['frame_inds']) for _ in range(60)}) > 1


def test_tail_cut_statistics() -> None:
    rng = np.random.default_rng(0)
    lengths = np.array([tail_cut_length(10, rng) for _ in range(4000)])
    assert lengths.min() >= 1 and lengths.max() == 10
    # P(shortened) = 0.5 * P(p > 0) = 0.45 (method.md §1).
    assert abs((lengths < 10).mean() - 0.45) < 0.03
    # V2 cuts only full clips; V1 (tail_cut_full_only=False) cuts shorter ones too.
    v2 = SampleFrames(num_frames=10)
    assert {len(v2({'frame_paths': list(range(6))})['frame_inds']) for _ in range(40)} == {6}
    v1 = SampleFrames(num_frames=10, tail_cut_full_only=False)
    assert len({len(v1({'frame_paths': list(range(6))})['frame_inds']) for _ in range(80)}) > 1
    one = SampleFrames(num_frames=10, tail_cut_full_only=False)
    assert all(one({'frame_paths': ['a']})['frame_inds'] == [0] for _ in range(20))


def test_pack_pads_and_masks() -> None:
    from csa_bench.datasets.transforms import PackRetrievalInputs

    frames = [np.full((8, 6, 3), v, np.uint8) for v in (1, 2, 3)]
    out = PackRetrievalInputs(num_frames=5)({'role': 'pair', 'sample_id': 's', 'imgs': frames,
                                             'img': np.zeros((8, 6, 3), np.uint8), 'frame_paths': ['a'],
                                             'meta': {}, 'frame_inds': [0, 1, 2]})
    video, mask = out['inputs']['video'], out['inputs']['frame_mask']
    assert video.dtype == torch.uint8 and video.shape == (5, 3, 8,
                                                          6) and out['inputs']['image'].shape == (3, 8, 6)
    assert mask.tolist() == [True, True, True, False, False] and video[3:].sum() == 0
    assert out['data_samples'] == {'role': 'pair', 'sample_id': 's', 'meta': {}, 'frame_paths': ['a']}


def test_truncated_images_are_detected(tmp_path: Path) -> None:
    for ext in ('.jpg', '.png'):
        path = tmp_path / f'a{ext}'
        noise = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
        path.write_bytes(cv2.imencode(ext, noise)[1].tobytes())
        data = path.read_bytes()
        cut = tmp_path / f'cut{ext}'
        cut.write_bytes(data[: len(data) * 4 // 5])  # cut inside the pixel data
        with pytest.raises(MediaError, match='truncated'):
            read_image(cut)
        assert read_image(path).shape == (64, 64, 3)
    # The end-marker check alone rejects a cut stream, whatever the decoder would make of it.
    with pytest.raises(MediaError, match='no end-of-image marker'):
        verify_image_bytes((tmp_path / 'cut.jpg').read_bytes(), 'cut.jpg')
    with pytest.raises(MediaError, match='file not found'):
        read_image(tmp_path / 'nope.jpg')
    with pytest.raises(MediaError, match='unknown signature'):
        verify_image_bytes(b'GIF89a....', 'x.gif')


def test_corrupt_mp4_is_detected(tmp_path: Path) -> None:
    from csa_bench.datasets.media import open_video

    good = tmp_path / 'good.mp4'
    fx.mp4(good, 10)
    bad = tmp_path / 'bad.mp4'
    bad.write_bytes(good.read_bytes()[:600])
    with pytest.raises(MediaError, match='cannot open video'):
        open_video(bad)
    assert len(open_video(good)) == 10


def test_undecodable_png_names_the_file(tmp_path: Path) -> None:
    """Markers intact but the pixel stream garbled: a MediaError naming the file, not a bare cv2 error."""
    path = tmp_path / 'bad.png'
    data = bytearray(cv2.imencode('.png', np.full((32, 32, 3), 7, np.uint8))[1].tobytes())
    idat = data.index(b'IDAT') + 4
    data[idat : idat + 8] = b'\xff' * 8  # corrupt the zlib stream, keep the IEND chunk
    path.write_bytes(bytes(data))
    with pytest.raises(MediaError, match=r'bad\.png: the decoder returned no pixels'):
        read_image(path)


def test_decord_imported_before_cv2_is_named(tmp_path: Path) -> None:
    """decord's bundled zlib breaks cv2's PNG decoding when decord loads first: the error says so."""
    import subprocess
    import sys

    path = tmp_path / 'ok.png'
    path.write_bytes(cv2.imencode('.png', np.full((8, 8, 3), 50, np.uint8))[1].tobytes())
    script = (
        'import decord, sys\n'
        'from csa_bench.datasets.media import MediaError, read_image\n'
        'try:\n'
        f'    print(read_image({str(path)!r}).shape)\n'
        'except MediaError as exc:\n'
        '    print(exc)\n'
    )
    out = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, check=True).stdout
    # Either this decord/OpenCV pair decodes fine, or the error names the file and the cause.
    assert out.strip() == '(8, 8, 3)' or ('ok.png' in out and 'decord was imported before cv2' in out), out
