"""CLIP-geometry vision transformer (the RICE shared encoder, method.md §2), built on timm."""
from __future__ import annotations

from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from csa_bench.registry import MODELS

from .openai_clip import read_clip_state_dict, timm_block_to_openai

#: Architectures by name. ``tiny`` is a CPU-sized twin for tests and the synthetic benchmark.
CLIP_ARCHS: dict[str, dict[str, int]] = {
    'tiny': dict(img_size=64, patch_size=16, width=64, layers=2, heads=4, embed_dim=32),
    'ViT-B/32': dict(img_size=224, patch_size=32, width=768, layers=12, heads=12, embed_dim=512),
    'ViT-B/16': dict(img_size=224, patch_size=16, width=768, layers=12, heads=12, embed_dim=512),
}

#: Parameters of the "stem" that V1 froze (method.md §10): timm names of conv1, class embedding,
#: positional embedding and ln_pre.
STEM_PREFIXES = ('vit.patch_embed.', 'vit.cls_token', 'vit.pos_embed', 'vit.norm_pre.')


class Fp32LayerNorm(nn.LayerNorm):
    """LayerNorm computed in fp32 and cast back to the input dtype (OpenAI CLIP's fp16 ``LayerNorm``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.layer_norm(x.float(), self.normalized_shape, self.weight.float(), self.bias.float(), self.eps)
        return out.to(x.dtype)


@MODELS.register_module()
class CLIPViTEncoder(nn.Module):
    """OpenAI CLIP visual tower: pre-LN ViT, QuickGELU, class token, bias-free patch embed.

    ``forward(images (N, C, H, W)) -> (embedding (N, E), tokens (N, L, W))`` with ``L = 1 + P``
    (CLS first). Tokens are the residual stream after the last block **before** ``ln_post``
    (``token_source='hidden'``, V2, ``W`` = width) or ``ln_post(H) @ proj``
    (``token_source='projected'``, V1, ``W = E``). ``embedding = ln_post(H[:, 0]) @ proj``.

    The transformer is timm's ``VisionTransformer`` with the ``vit_base_patch32_clip_quickgelu_224``
    arguments; weights load through timm's OpenAI converter. ``ln_post`` is timm's ``norm``;
    ``proj`` is a bias-free ``Linear`` (CLIP's ``proj`` transposed).

    Not an mmengine ``BaseModule`` on purpose: ``BaseModule.init_weights`` would recurse into timm's
    ``init_weights`` and overwrite the pretrained CLIP weights after loading.

    Args:
        arch: A key of ``CLIP_ARCHS`` or a dict with ``img_size, patch_size, width, layers, heads,
            embed_dim``.
        token_source: ``'hidden'`` (V2) or ``'projected'`` (V1).
        frozen_stem: Freeze conv1, class/positional embeddings and ln_pre (V1).
        pretrained: Local path of an OpenAI CLIP checkpoint (JIT archive or state dict), or None.
        img_size: Override the arch's input size (the positional embedding is sized from it).
        fp16: V1 (CLIP4Clip-era) precision: conv and Linear weights (``proj`` included) are stored
            in float16 and the tower runs in float16, with the LayerNorms computed in float32 and
            the class/positional embeddings kept in float32 and cast to float16 where added, as
            OpenAI CLIP's ``convert_weights`` does. Inputs are cast to float16; both outputs are
            returned as float32. Default False (V2: float32 weights, AMP decides the compute).
    """

    def __init__(self, arch: str | dict = 'ViT-B/32', token_source: str = 'hidden', frozen_stem: bool = False,
                 pretrained: str | None = None, img_size: int | None = None, fp16: bool = False) -> None:
        super().__init__()
        from timm.layers import LayerNorm
        from timm.models.vision_transformer import VisionTransformer

        if isinstance(arch, str):
            if arch not in CLIP_ARCHS:
                raise KeyError(f'unknown CLIP arch {arch!r}; known: {sorted(CLIP_ARCHS)} or a dict')
            arch = CLIP_ARCHS[arch]
        cfg = dict(arch)
        if img_size is not None:
            cfg['img_size'] = img_size
        if token_source not in ('hidden', 'projected'):
            raise ValueError(f"token_source must be 'hidden' or 'projected', got {token_source!r}")
        self.arch = cfg
        self.token_source = token_source
        self.vit_width = cfg['width']
        self.embed_dim = cfg['embed_dim']
        self.width = self.vit_width if token_source == 'hidden' else self.embed_dim
        self.num_layers = cfg['layers']
        self.num_heads = cfg['heads']
        # The OpenAI CLIP tower: pre-norm (ln_pre), LN eps 1e-5, QuickGELU, no patch-embed bias
        # (timm drops it when pre_norm=True), token pooling; no timm head (the projection is ours).
        self.vit = VisionTransformer(
            img_size=cfg['img_size'], patch_size=cfg['patch_size'], embed_dim=cfg['width'], depth=cfg['layers'],
            num_heads=cfg['heads'], pre_norm=True, norm_layer=partial(LayerNorm, eps=1e-5),
            act_layer='quick_gelu', num_classes=0, global_pool='token')
        self.proj = nn.Linear(cfg['width'], cfg['embed_dim'], bias=False)
        nn.init.normal_(self.proj.weight, std=cfg['width'] ** -0.5)  # CLIP's proj init scale
        self.num_tokens = self.vit.patch_embed.num_patches + 1
        if pretrained is not None:
            self.load_openai(pretrained)
        if frozen_stem:
            for name, param in self.named_parameters():
                if name.startswith(STEM_PREFIXES):
                    param.requires_grad_(False)
        self.frozen_stem = frozen_stem
        self.fp16 = fp16
        if fp16:
            self.convert_to_fp16()

    def convert_to_fp16(self) -> None:
        """Store conv/Linear weights in float16; LayerNorms compute in float32 (see ``fp16``)."""
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                module.half()
        # Swap every LayerNorm for the fp32-compute one; parameter names and values are unchanged.
        for parent in list(self.modules()):
            for name, child in list(parent.named_children()):
                if isinstance(child, nn.LayerNorm) and not isinstance(child, Fp32LayerNorm):
                    swapped = Fp32LayerNorm(child.normalized_shape, eps=child.eps,
                                            elementwise_affine=child.elementwise_affine)
                    swapped.load_state_dict(child.state_dict())
                    swapped.requires_grad_(child.weight.requires_grad)
                    setattr(parent, name, swapped)

    def load_openai(self, path: str | Path) -> None:
        """Load OpenAI CLIP visual weights from ``path`` (see ``read_clip_state_dict``), strictly.

        Raises:
            FileNotFoundError / ValueError: missing file, not a CLIP checkpoint, or keys/shapes that
                do not match this architecture (the message names the file and the keys).
        """
        from timm.models.vision_transformer import _convert_openai_clip

        state = _convert_openai_clip(read_clip_state_dict(path), self.vit)
        # timm's converter turns ``proj`` into a Linear head with a zero bias; ours has no bias.
        proj = state.pop('head.weight', None)
        state.pop('head.bias', None)
        ours = {f'vit.{k}': v for k, v in state.items()}
        if proj is not None:
            ours['proj.weight'] = proj
        expected = set(self.state_dict())
        missing, unexpected = sorted(expected - set(ours)), sorted(set(ours) - expected)
        if missing or unexpected:
            raise ValueError(f'{path}: CLIP keys do not match arch {self.arch}: missing {missing[:8]}'
                             f'{" ..." if len(missing) > 8 else ""}, unexpected {unexpected[:8]}'
                             f'{" ..." if len(unexpected) > 8 else ""}')
        own = self.state_dict()
        bad = [f'{k}: file {tuple(v.shape)} vs model {tuple(own[k].shape)}' for k, v in ours.items()
               if v.shape != own[k].shape]
        if bad:
            raise ValueError(f'{path}: CLIP weight shapes do not match arch {self.arch}: {bad[:5]}')
        self.load_state_dict(ours, strict=True)

    def hidden_tokens(self, images: torch.Tensor) -> torch.Tensor:
        """Residual stream after the last block, before ``ln_post``: ``(N, L, width)``."""
        vit = self.vit
        if self.fp16:
            # OpenAI CLIP's fp16 path: embeddings cast to the activations' dtype where added.
            x = vit.patch_embed(images.half())
            cls = vit.cls_token.to(x.dtype).expand(x.shape[0], -1, -1)
            x = torch.cat([cls, x], dim=1) + vit.pos_embed.to(x.dtype)
        else:
            x = vit.patch_embed(images)
            x = vit._pos_embed(x)
        x = vit.patch_drop(x)
        x = vit.norm_pre(x)
        return vit.blocks(x)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode ``(N, C, H, W)`` into ``embedding (N, E)`` and ``tokens (N, L, W)``."""
        hidden = self.hidden_tokens(images)
        if self.token_source == 'projected':
            tokens = self.proj(self.vit.norm(hidden))
            emb = tokens[:, 0]
        else:
            emb, tokens = self.proj(self.vit.norm(hidden[:, 0])), hidden
        if self.fp16:  # the official code returns .float() of the fp16 outputs
            return emb.float(), tokens.float()
        return emb, tokens

    def openai_block_state_dict(self, index: int) -> dict[str, torch.Tensor]:
        """Block ``index`` (negative counts from the end) with OpenAI ``resblocks.N`` key names.

        Used to initialise the PMD decoder blocks from the last two CLIP blocks (method.md §5).
        """
        block = self.vit.blocks[index]
        return timm_block_to_openai({k: v.detach().clone() for k, v in block.state_dict().items()})

    def extra_repr(self) -> str:
        return (f'arch={self.arch}, token_source={self.token_source!r}, frozen_stem={self.frozen_stem}, '
                f'fp16={self.fp16}')
