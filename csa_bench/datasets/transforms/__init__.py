"""Registered data transforms: frame sampling, decoding, per-frame pixel ops, packing."""
from .loading import InitVideoReader, LoadFrames, LoadShopImage
from .packing import PackRetrievalInputs
from .pixel import CenterCropFrames, RandomCropFrames, RandomFlipFrames, ResizeFrames
from .sampling import SampleFrames, tail_cut_length, uniform_indices
from .v1_test import ListFolderFrames, PILResizeFrames

__all__ = ['CenterCropFrames', 'InitVideoReader', 'ListFolderFrames', 'LoadFrames', 'LoadShopImage',
           'PILResizeFrames', 'PackRetrievalInputs',
           'RandomCropFrames', 'RandomFlipFrames', 'ResizeFrames', 'SampleFrames', 'tail_cut_length',
           'uniform_indices']
