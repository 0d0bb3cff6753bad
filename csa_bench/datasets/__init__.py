"""The core data pipeline: the base dataset (with the bad-sample policy), transforms, collate, media io.

Dataset plugins (LPR4M, MovingFashion, synthetic) live in ``plugins/datasets`` and subclass
:class:`RetrievalDataset`.
"""
from . import transforms  # noqa: F401  (registers the transforms)
from .base import BAD_SAMPLE_POLICIES, BadSampleError, RetrievalDataset
from .collate import retrieval_collate
from .media import MediaError, one_fps_indices, open_video, read_image, tenframe_indices, verify_image_bytes
from .parsing import AnnotationError

__all__ = ['AnnotationError', 'BAD_SAMPLE_POLICIES', 'BadSampleError', 'MediaError', 'RetrievalDataset',
           'one_fps_indices', 'open_video', 'read_image', 'retrieval_collate', 'tenframe_indices',
           'verify_image_bytes']
