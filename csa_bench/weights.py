"""The pretrained weight files that shipped configs name under ``{{$CSA_PRETRAINED}}``: where each
comes from, how to check it, under which licence.

Nothing is downloaded by csa_bench: configs read these files from a local folder
(``$CSA_PRETRAINED``, default ``./pretrained``). ``csa-bench doctor`` uses this manifest to say
which file is missing and where to get it, and to verify a file that is present:

- ``sha256``: the full digest, only where its publisher states it (OpenAI's CLIP URLs carry the
  sha256 of the file, which OpenAI's own loader verifies). ``None`` where nothing is published: we
  never record a digest we computed ourselves as if it were authoritative.
- ``sha256_prefix``: the leading hex digits of the sha256 embedded in the published file name
  (the torch.hub convention, ``<name>-<8 hex>.pth``, checked by ``torch.hub``'s ``check_hash``).

A test (``tests/foundation/test_doctor.py``) asserts that every ``{{$CSA_PRETRAINED}}/<file>`` in
``configs/`` has an entry here, so a new config cannot name an unlisted file.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WeightFile:
    """One pretrained file as configs name it (``{{$CSA_PRETRAINED}}/<file>``).

    Attributes:
        file: the name under ``$CSA_PRETRAINED``.
        what: the model and training it holds.
        url: where to download it (save it under ``file``).
        sha256: full published digest (lower-case hex) or ``None`` (module docstring).
        sha256_prefix: leading hex digits of the sha256 published in the file name, or ``None``.
        licence: the weights' licence as their publisher states it.
        note: how to obtain or convert it when the URL alone is not enough.
    """

    file: str
    what: str
    url: str
    sha256: str | None
    sha256_prefix: str | None
    licence: str
    note: str = ''


_RSB_A1 = ('https://github.com/huggingface/pytorch-image-models/releases/download/v0.1-rsb-weights/'
           'resnet50_a1_0-14fe96d1.pth')

WEIGHTS: dict[str, WeightFile] = {w.file: w for w in (
    WeightFile(
        file='ViT-B-32.pt',
        what='OpenAI CLIP ViT-B/32 (TorchScript archive, image and text towers)',
        url='https://openaipublic.azureedge.net/clip/models/'
            '40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af/ViT-B-32.pt',
        # The URL path segment is the file's sha256; OpenAI's clip.load verifies it after download.
        sha256='40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af',
        sha256_prefix=None,
        licence='MIT (openai/CLIP)',
    ),
    WeightFile(
        file='resnet50.a1_in1k.pth',
        what="timm resnet50.a1_in1k (ResNet strikes back, A1 recipe, ImageNet-1k), timm's state-dict format",
        url=_RSB_A1,
        sha256=None,
        sha256_prefix='14fe96d1',
        licence='Apache-2.0 (huggingface/pytorch-image-models)',
    ),
    WeightFile(
        file='resnet50.pth',
        what="timm resnet50, ImageNet-1k, timm's state-dict format: the tag timm loads by default for "
             "'resnet50' (a1_in1k), the same file as resnet50.a1_in1k.pth",
        url=_RSB_A1,
        sha256=None,
        sha256_prefix='14fe96d1',
        licence='Apache-2.0 (huggingface/pytorch-image-models)',
        note='any ImageNet resnet50 state dict with timm key names loads; this is the one the configs assume',
    ),
    WeightFile(
        file='swin_base_patch4_window7_224.pth',
        what='Swin-B, window 7, 224 px, ImageNet-22k pre-trained and ImageNet-1k fine-tuned (the official release)',
        url='https://github.com/SwinTransformer/storage/releases/download/v1.0.0/'
            'swin_base_patch4_window7_224_22kto1k.pth',
        sha256=None,
        sha256_prefix=None,
        licence='MIT (microsoft/Swin-Transformer)',
        note="the download's name differs; timm's loader unwraps its 'model' key",
    ),
    WeightFile(
        file='vit_base_patch16_224.pth',
        what="timm vit_base_patch16_224.augreg2_in21k_ft_in1k (AugReg ViT-B/16, 224 px), timm key names",
        url='https://huggingface.co/timm/vit_base_patch16_224.augreg2_in21k_ft_in1k/resolve/main/pytorch_model.bin',
        sha256=None,
        sha256_prefix=None,
        licence='Apache-2.0 (google-research/vision_transformer, timm)',
        note='it downloads as pytorch_model.bin, a plain state dict',
    ),
)}


def weight_entry(file: str) -> WeightFile | None:
    """The manifest entry for a file name under ``$CSA_PRETRAINED`` (``None`` when unlisted)."""
    return WEIGHTS.get(file)
