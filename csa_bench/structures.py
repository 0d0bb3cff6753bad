"""The sample schema: the keys every dataset emits and every model / metric reads.

A *sample* is a plain dict. Datasets build it in ``load_data_list()``; transforms add keys; the
packing transform turns it into ``{'inputs': {...}, 'data_samples': {...}}``. The keys are fixed
here, in one place, so that a new dataset or method cannot drift from the others.

Raw sample (``load_data_list`` output)::

    role          'pair' (training: a clip and its shop image), 'query' (test clip) or 'gallery'
                  (test shop image)
    sample_id     str, unique within its role: clip id for pair/query, image id for gallery
    item_id       str, the product (shop image) id: the positive of a pair, the id of a gallery
                  entry; for a query, its first ground-truth id ('' when it has none)
    gt_ids        list[str], queries only: every correct gallery id (LPR4M has several)
    group_id      str | None: the livestream id for per-livestream galleries (LPR4M), the
                  MovingFashion source for SGMN's in-source protocol, else None
    frame_paths   list[str] | None: absolute paths of the clip's frames (JPEG/PNG folders)
    video_path    str | None: absolute path of an mp4 to decode (MovingFashion raw release)
    img_path      str | None: absolute path of the shop image (pair and gallery)
    label         int: product class index within the split (pair only; -1 when unknown)
    category_id   int: product category (-1 when unknown)
    title         str: product title ('' when absent)
    asr           str: speech transcript of the clip ('' when absent)
    meta          dict: anything else worth keeping (difficulty columns, source, boxes)

Packed sample (the ``PackRetrievalInputs`` output consumed by the data preprocessor)::

    inputs        {'video': uint8 (T, C, H, W), 'frame_mask': bool (T,)} for clips and/or
                  {'image': uint8 (C, H, W)} for shop images
    data_samples  the raw sample minus pixels (role, ids, texts, meta, and the media paths, which
                  evaluation dumps keep so that ``csa-bench show`` can draw the real frames)
"""
from __future__ import annotations

ROLES = ('pair', 'query', 'gallery')

#: Keys that every sample must set (the others default to the values below).
REQUIRED_KEYS = ('role', 'sample_id')

#: Keys of a raw sample and their defaults (``None`` for a required key or an absent path/group).
SAMPLE_DEFAULTS: dict[str, object] = {
    'role': None,
    'sample_id': None,
    'item_id': '',
    'gt_ids': [],
    'group_id': None,
    'frame_paths': None,
    'video_path': None,
    'img_path': None,
    'label': -1,
    'category_id': -1,
    'title': '',
    'asr': '',
    'meta': {},
}

#: Keys that carry pixels and are dropped from ``data_samples`` when packing. Paths are kept: they
#: are small, and the metric's dumps need them for qualitative figures.
PIXEL_KEYS = ('video', 'frame_mask', 'image', 'img', 'imgs', 'frame_inds', 'frames')


def make_sample(**fields: object) -> dict:
    """Build a raw sample dict with the schema's defaults filled in.

    Raises:
        ValueError: a required key is missing, a key is not in the schema, or ``role`` is unknown.
    """
    unknown = set(fields) - set(SAMPLE_DEFAULTS)
    if unknown:
        raise ValueError(f'unknown sample keys {sorted(unknown)}; the schema is {list(SAMPLE_DEFAULTS)}')
    sample = {}
    for key, default in SAMPLE_DEFAULTS.items():
        if key in fields:
            sample[key] = fields[key]
        elif key in REQUIRED_KEYS:
            raise ValueError(f'sample is missing the required key {key!r}')
        else:
            sample[key] = type(default)() if isinstance(default, (list, dict)) else default
    if sample['role'] not in ROLES:
        raise ValueError(f"sample role must be one of {ROLES}, got {sample['role']!r}")
    if sample['role'] == 'query' and sample['gt_ids'] and not sample['item_id']:
        sample['item_id'] = sample['gt_ids'][0]
    return sample


def meta_of(sample: dict) -> dict:
    """The packed ``data_samples`` dict of a sample: everything but pixels."""
    return {k: v for k, v in sample.items() if k not in PIXEL_KEYS}
