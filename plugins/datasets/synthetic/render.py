"""Procedural pixels for the synthetic benchmark: product patches, shop images and clip frames.

All drawing uses OpenCV primitives on small RGB canvases (96 px by default); randomness comes
only from the generators passed in, so rendering is deterministic per seed.
"""
from __future__ import annotations

import cv2
import numpy as np

from .world import FAMILIES, PATTERNS, ClipPlan, Product, Shop


def _shape_mask(family: str, s: int) -> np.ndarray:
    """A filled ``(s, s)`` uint8 mask (0/255) of the family's shape, centred."""
    mask = np.zeros((s, s), np.uint8)
    c, r = s / 2, s * 0.46

    def poly(points: np.ndarray) -> None:
        cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 255, lineType=cv2.LINE_AA)

    def regular(n: int, phase: float, radius: float = r) -> np.ndarray:
        angles = phase + np.arange(n) * 2 * np.pi / n
        return np.stack([c + radius * np.cos(angles), c + radius * np.sin(angles)], 1)

    if family == 'circle':
        cv2.circle(mask, (s // 2, s // 2), int(r), 255, -1, cv2.LINE_AA)
    elif family == 'square':
        poly(regular(4, np.pi / 4, r * 1.2))
    elif family == 'triangle':
        poly(regular(3, -np.pi / 2) + [0, s * 0.08])
    elif family == 'star':
        outer, inner = regular(5, -np.pi / 2), regular(5, -np.pi / 2 + np.pi / 5, r * 0.45)
        poly(np.stack([outer, inner], 1).reshape(-1, 2))
    elif family == 'hexagon':
        poly(regular(6, 0))
    elif family == 'diamond':
        poly(np.array([[c, c - r], [c + r * 0.62, c], [c, c + r], [c - r * 0.62, c]]))
    elif family == 'cross':
        w = r * 0.38
        poly(np.array([[c - w, c - r], [c + w, c - r], [c + w, c - w], [c + r, c - w], [c + r, c + w],
                       [c + w, c + w], [c + w, c + r], [c - w, c + r], [c - w, c + w], [c - r, c + w],
                       [c - r, c - w], [c - w, c - w]]))
    else:  # capsule
        h = int(r * 0.5)
        cv2.rectangle(mask, (int(c - r + h), int(c - h)), (int(c + r - h), int(c + h)), 255, -1)
        cv2.circle(mask, (int(c - r + h), int(c)), h, 255, -1, cv2.LINE_AA)
        cv2.circle(mask, (int(c + r - h), int(c)), h, 255, -1, cv2.LINE_AA)
    return mask


def product_patch(product: Product, s: int) -> tuple[np.ndarray, np.ndarray]:
    """The product drawn on an ``(s, s)`` patch: ``(rgb uint8 (s, s, 3), mask uint8 (s, s))``."""
    s = max(s, 8)
    mask = _shape_mask(FAMILIES[product.family], s)
    rgb = np.empty((s, s, 3), np.uint8)
    rgb[:] = product.rgb
    accent = product.accent
    step = max(3, s // 7)
    pattern = PATTERNS[product.pattern]
    if pattern == 'stripes':
        for y in range(0, s, 2 * step):
            rgb[y:y + step // 2 + 1] = accent
    elif pattern == 'dots':
        for y in range(step // 2, s, step):
            for x in range(step // 2, s, step):
                cv2.circle(rgb, (x, y), max(1, step // 4), accent, -1)
    elif pattern == 'checks':
        yy, xx = np.mgrid[0:s, 0:s] // step
        rgb[(yy + xx) % 2 == 1] = accent
    elif pattern == 'ring':
        inner = cv2.erode(mask, np.ones((max(3, s // 8),) * 2, np.uint8))
        rgb[(mask > 0) & (inner == 0)] = accent
    return rgb, mask


def paste(canvas: np.ndarray, product: Product, center: tuple[float, float], size: float, angle: float,
          alpha: float = 1.0) -> tuple[float, float, float, float]:
    """Draw ``product`` (side ``size`` px, rotated ``angle`` degrees) onto ``canvas`` in place.

    Returns:
        The drawn box ``(x1, y1, x2, y2)`` in pixels, clipped to the canvas.
    """
    s = int(round(size))
    rgb, mask = product_patch(product, s)
    s = rgb.shape[0]
    h, w = canvas.shape[:2]
    matrix = cv2.getRotationMatrix2D((s / 2, s / 2), angle, 1.0)
    matrix[:, 2] += (center[0] - s / 2, center[1] - s / 2)
    warped = cv2.warpAffine(rgb, matrix, (w, h), flags=cv2.INTER_LINEAR)
    weight = cv2.warpAffine(mask, matrix, (w, h), flags=cv2.INTER_LINEAR).astype(np.float32)[..., None] / 255 * alpha
    canvas[:] = (canvas * (1 - weight) + warped * weight).astype(np.uint8)
    ys, xs = np.nonzero(weight[..., 0] > 0.5)
    if len(xs) == 0:
        return (0.0, 0.0, 0.0, 0.0)
    return (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))


def shop_image(product: Product, view: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """The shop image of ``product``: view 0 is the clean, centred main image; others vary."""
    canvas = np.empty((size, size, 3), np.uint8)
    if view == 0:
        canvas[:] = (242, 240, 236)
        paste(canvas, product, (size / 2, size / 2), size * 0.78, 0.0)
        return canvas
    canvas[:] = rng.integers(150, 250, 3)
    paste(canvas, product, (size * rng.uniform(0.4, 0.6), size * rng.uniform(0.4, 0.6)),
          size * rng.uniform(0.5, 0.7), float(rng.uniform(-35, 35)))
    return canvas


def _scene(rng: np.random.Generator, shop: Shop, side: int) -> np.ndarray:
    """A cluttered backdrop (twice the frame side) that frames pan across."""
    scene = np.empty((side, side, 3), np.uint8)
    scene[:] = shop.background
    for _ in range(28):
        colour = tuple(int(c) for c in rng.integers(20, 236, 3))
        x, y = (int(v) for v in rng.integers(0, side, 2))
        extent = int(rng.integers(side // 16, side // 4))
        kind = rng.integers(0, 3)
        if kind == 0:
            cv2.rectangle(scene, (x, y), (x + extent, y + extent // 2), colour, -1)
        elif kind == 1:
            cv2.circle(scene, (x, y), extent // 2, colour, -1)
        else:
            cv2.line(scene, (x, y), (x + extent, y + int(rng.integers(-extent, extent))), colour, 2)
    return scene


def render_clip(shop: Shop, plan: ClipPlan, size: int) -> tuple[list[np.ndarray], list[list[float]]]:
    """Render a clip from its plan.

    Returns:
        ``(frames, boxes)``: RGB uint8 ``(size, size, 3)`` frames and, per frame, the normalised
        ``[x1, y1, x2, y2]`` box of the first target (``[]`` where it is out of view).
    """
    rng = np.random.default_rng(plan.seed)
    scene = _scene(rng, shop, 2 * size)
    n = plan.num_frames
    pan = rng.uniform(0, size, (2, 2))  # start / end crop offsets: a moving camera
    actors = []  # (product index, start xy, end xy, size, angle0, angle1, first, last)
    for k, index in enumerate(plan.targets + plan.distractors):
        is_target = k < len(plan.targets)
        side = size * (plan.scale if k == 0 else rng.uniform(0.25, 0.5))
        lo, hi = side / 2, size - side / 2
        first, last = plan.visible if k == 0 else sorted(int(v) for v in rng.integers(0, n + 1, 2))
        if is_target and k > 0:  # a second GT product stays in view about as long
            first, last = plan.visible
        actors.append((index, rng.uniform(lo, hi, 2), rng.uniform(lo, hi, 2), side, rng.uniform(-30, 30),
                       rng.uniform(-30, 30), first, max(last, first + 1)))
    # Distractors are drawn first so that the target stays on top (it is the product on sale).
    order = list(range(len(actors)))[::-1]
    occluder = tuple(int(c) for c in rng.integers(120, 220, 3))
    frames, boxes = [], []
    for t in range(n):
        u = t / max(n - 1, 1)
        ox, oy = (pan[0] * (1 - u) + pan[1] * u).astype(int)
        frame = scene[oy:oy + size, ox:ox + size].copy()
        box = []
        for k in order:
            index, p0, p1, side, a0, a1, first, last = actors[k]
            if not first <= t < last:
                continue
            center = p0 * (1 - u) + p1 * u + rng.normal(0, 1.5, 2)
            drawn = paste(frame, shop.products[index], (center[0], center[1]), side * rng.uniform(0.92, 1.08),
                          a0 * (1 - u) + a1 * u)
            if k == 0:
                box = [round(v / size, 4) for v in drawn]
                if plan.occlusion > 0:  # a hand / prop covering part of the product from one side
                    x1, y1, x2, y2 = (int(v) for v in drawn)
                    cut = int((x2 - x1) * plan.occlusion)
                    if rng.random() < 0.5:
                        cv2.rectangle(frame, (x1, y1), (x1 + cut, y2), occluder, -1)
                    else:
                        cv2.rectangle(frame, (x2 - cut, y1), (x2, y2), occluder, -1)
        noise = rng.normal(0, 4, frame.shape) + rng.uniform(-12, 12)
        frames.append(np.clip(frame.astype(np.float32) + noise, 0, 255).astype(np.uint8))
        boxes.append(box)
    return frames, boxes
