"""The V1 (CLIP4Clip-era) LPR4M test gallery: main images listed from the live folders (docs/method_v1.md)."""
from __future__ import annotations

import os

from csa_bench.datasets.parsing import AnnotationError
from csa_bench.registry import DATASETS
from csa_bench.structures import make_sample

from ..datasets.lpr4m import LPR4MDataset


@DATASETS.register_module()
class LPR4MV1Dataset(LPR4MDataset):
    """``LPR4MDataset`` whose test gallery is built the V1 way (protocol ``lpr4m-csa-v1``).

    V1 did not read a gallery list: for every folder ``gallery/<live_id>/`` it kept the files whose
    name ends in ``-0.jpg`` (the main images) and sorted them by name; the gallery id is the name
    without ``.jpg`` and without its last dash field. The order matters for ties (the ranking keeps
    gallery order among equal scores). Queries and training pairs are the base class's; for V1's
    query frames add ``ListFolderFrames`` + ``SampleFrames(mode='v1')`` to the test pipeline.

    Args:
        main_suffix: File-name ending of a main image (V1: ``-0.jpg``).
        **kwargs: ``LPR4MDataset`` arguments; ``gallery`` must stay ``'main'``.
    """

    def __init__(self, *args, main_suffix: str = '-0.jpg', **kwargs) -> None:
        if kwargs.get('gallery', 'main') != 'main':
            raise ValueError("LPR4MV1Dataset lists main images only: gallery must be 'main'")
        self.main_suffix = main_suffix
        super().__init__(*args, **kwargs)

    def _gallery_750k(self) -> list[dict]:
        return self._gallery_folders()

    def _gallery_full(self) -> list[dict]:
        return self._gallery_folders()

    def _gallery_folders(self) -> list[dict]:
        root = os.path.join(self.data_root, 'gallery')
        if not os.path.isdir(root):
            raise AnnotationError(f'{root}: no gallery folder; the V1 gallery is listed from gallery/<live_id>/')
        samples = []
        for live_id in sorted(entry.name for entry in os.scandir(root) if entry.is_dir()):
            folder = os.path.join(root, live_id)
            for name in sorted(n for n in os.listdir(folder) if n.endswith(self.main_suffix)):
                stem = name[: -len('.jpg')] if name.endswith('.jpg') else os.path.splitext(name)[0]
                image_id = stem.rsplit('-', 1)[0]
                samples.append(make_sample(role='gallery', sample_id=f'{live_id}/{stem}',
                                           item_id=image_id, group_id=live_id,
                                           img_path=os.path.join(folder, name), meta={'view': '0'}))
        if not samples:
            raise AnnotationError(f'{root}: no file ending in {self.main_suffix!r} under gallery/<live_id>/')
        self.stats['excluded_non_main'] = 0
        return samples
