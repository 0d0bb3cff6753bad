"""Loading pixels: mp4 through decord (batched), JPEG/PNG frame folders and shop images."""
from __future__ import annotations

import numpy as np
from mmcv.transforms import BaseTransform

from ...registry import TRANSFORMS
from ..media import (
    FPS_RULES,
    MediaError,
    one_fps_indices,
    open_video,
    read_image,
    read_video_frames,
    tenframe_indices,
)


@TRANSFORMS.register_module()
class InitVideoReader(BaseTransform):
    """Open an mp4 with decord and list its candidate frames: ``fps`` per second, at most ``max_frames``.

    This replaces CSA's ffmpeg extraction step (datasets.md §6): frames at 1 fps, then at most 10 of
    them with the ``floor(i·n/10)`` rule. With ``rule='ffmpeg'`` (default) the 1 fps frames are the
    ones ``ffmpeg -vf fps=1`` extracts (see :func:`~csa_bench.datasets.media.one_fps_indices`); a
    video shorter than half a sampling period yields no frame there, so it raises
    :class:`~csa_bench.datasets.media.MediaError` (a bad sample) instead of inventing one.
    A sample without ``video_path`` passes through.

    Required keys: ``video_path`` (optional).

    Added keys: ``video_reader``, ``total_frames``, ``avg_fps``, ``frame_candidates`` (list[int],
    frame indices in the video).

    Args:
        fps: sampling rate in frames per second.
        max_frames: keep at most this many of the sampled frames (``None``: all).
        rule: ``'ffmpeg'`` (the official extraction, exact for constant-rate video) or ``'nearest'``
            (the earlier csa_bench rule, about half a period earlier).
    """

    def __init__(self, fps: float = 1.0, max_frames: int | None = 10, rule: str = 'ffmpeg') -> None:
        if fps <= 0:
            raise ValueError(f'fps must be > 0, got {fps}')
        if rule not in FPS_RULES:
            raise ValueError(f'rule must be one of {FPS_RULES}, got {rule!r}')
        self.fps = fps
        self.max_frames = max_frames
        self.rule = rule

    def transform(self, results: dict) -> dict:
        path = results.get('video_path')
        if not path:
            return results
        reader = open_video(path)
        avg_fps = float(reader.get_avg_fps())
        candidates = one_fps_indices(len(reader), avg_fps, self.fps, self.rule)
        if not candidates:
            raise MediaError(path, f'{len(reader)} frames at {avg_fps:g} fps are shorter than half a sampling '
                                   f'period: ffmpeg fps={self.fps:g} extracts no frame')
        if self.max_frames is not None:
            candidates = [candidates[i] for i in tenframe_indices(len(candidates), self.max_frames)]
        results.update(video_reader=reader, total_frames=len(reader), avg_fps=avg_fps,
                       frame_candidates=candidates)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(fps={self.fps}, max_frames={self.max_frames}, rule={self.rule!r})'


@TRANSFORMS.register_module()
class LoadFrames(BaseTransform):
    """Decode the sampled frames of a clip, from the open video (one ``get_batch``) or JPEG files.

    Every image is verified (a truncated JPEG/PNG raises :class:`~csa_bench.datasets.media.MediaError`).
    A sample without frames passes through.

    Required keys: ``frame_inds`` and either ``video_reader`` + ``frame_candidates`` or
    ``frame_paths`` (optional: pass-through when ``frame_inds`` is absent).

    Added keys: ``imgs`` (list of uint8 ``(H, W, 3)`` RGB arrays). Removed: ``video_reader``.

    Args:
        exif_orientation: rotate JPEG files by their EXIF orientation tag, as ``cv2.imread``'s default
            does (the V1 code reads with it); False (default) ignores the tag, like PIL in the V2 code.
    """

    def __init__(self, exif_orientation: bool = False) -> None:
        self.exif_orientation = exif_orientation

    def transform(self, results: dict) -> dict:
        inds = results.get('frame_inds')
        if inds is None:
            return results
        reader = results.pop('video_reader', None)
        if reader is not None:
            picks = [results['frame_candidates'][i] for i in inds]
            batch = read_video_frames(reader, picks, results['video_path'])
            results['imgs'] = list(batch)
        else:
            paths = results['frame_paths']
            results['imgs'] = [read_image(paths[i], exif_orientation=self.exif_orientation) for i in inds]
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(exif_orientation={self.exif_orientation})'


@TRANSFORMS.register_module()
class LoadShopImage(BaseTransform):
    """Read the shop image (mmcv image io, RGB), verified against truncation.

    Required keys: ``img_path`` (optional: pass-through when absent, e.g. for queries).

    Added keys: ``img`` (uint8 ``(H, W, 3)`` RGB), ``img_shape`` ((H, W)).

    Args:
        exif_orientation: see :class:`LoadFrames` (False: the tag is ignored, as in the V2 code).
    """

    def __init__(self, exif_orientation: bool = False) -> None:
        self.exif_orientation = exif_orientation

    def transform(self, results: dict) -> dict:
        path = results.get('img_path')
        if not path:
            return results
        img = read_image(path, exif_orientation=self.exif_orientation)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(exif_orientation={self.exif_orientation})'


def stack_frames(imgs: list[np.ndarray]) -> np.ndarray:
    """Stack same-sized frames into ``(N, H, W, 3)``; raise naming the sizes when they differ."""
    shapes = {img.shape for img in imgs}
    if len(shapes) != 1:
        raise ValueError(f'frames of one clip must share a size after the pixel transforms, got {sorted(shapes)}')
    return np.stack(imgs)
