"""The authors' MMF-era (V2) checkpoints, ``rice_final.pth``, onto our RICE models.

The official training saves ``model.state_dict()`` of the DDP-wrapped MMF model: a plain state dict
whose keys start with ``module.`` (stripped by the core). Its modules, as built by the official
code (see docs/official_checkpoints.md for the full table):

- ``image_encoder.model.*``: OpenAI CLIP's *visual* tower only (``clip.visual``: ``conv1``,
  ``class_embedding``, ``positional_embedding``, ``ln_pre``, ``transformer.resblocks.N``,
  ``ln_post``, ``proj``), fp32. The text tower is not kept by the official encoder.
- ``transformer.logit_scale`` (a scalar, the ICL scale of the 'pretraining' head);
  ``transformer.contrastive_norm.norm_s`` (shape ``(1,)``, the ICL scale of the 'contrastive' head,
  which the official LPR4M ICL-only row uses; that head also carries an unused ``logit_scale``).
- 'pretraining' head only, ``transformer.transformer.*`` (the cross model, built for every
  pretraining row even when no task uses it): ``embeddings.*`` (never called: unused),
  ``transformer.layers.0`` (self block, ``nn.MultiheadAttention``, LayerNorm eps 1e-12),
  ``transformer.layers.1`` (cross block, packed in-projection, LayerNorm eps 1e-5),
  ``pooler.layer_norm`` + ``pooler.dense.weight`` (no bias).
- ``transformer.heads.vim.weight`` ``(1, W)`` (PMD score direction, rows with PMD);
  ``transformer.heads.rec.{0,2}.{weight,bias}`` (PFR's 1x1 convolutions, rows with PFR).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import nn

from csa_bench.checkpoints import ConversionError, ConversionResult, assemble
from csa_bench.registry import CHECKPOINT_CONVERTERS

from ..encoders.clip_vit import CLIPViTEncoder
from ..encoders.openai_clip import TIMM_TO_OPENAI_BLOCK
from .icl import ICLLoss
from .pfr import PFRLoss
from .pmd import PMDLoss

VISUAL = 'image_encoder.model.'
CROSS = 'transformer.transformer.'
NORM_S = 'transformer.contrastive_norm.norm_s'
LOGIT_SCALE = 'transformer.logit_scale'
VIM = 'transformer.heads.vim.weight'
REC = 'transformer.heads.rec.'
#: The official cross model's head count (CrossConfig default; no official yaml overrides it) and
#: the constant that multiplies the PMD cosine in ``_forward_vim``.
OFFICIAL_PMD_HEADS, OFFICIAL_PMD_SCALE = 8, 10.0

#: OpenAI ``resblocks.N`` parameter names -> timm ``Block`` names (inverse of the encoder's table).
OPENAI_TO_TIMM_BLOCK = tuple((openai, timm) for timm, openai in TIMM_TO_OPENAI_BLOCK)

Transform = Callable[[torch.Tensor], torch.Tensor]


def _same(t: torch.Tensor) -> torch.Tensor:
    return t


#: OpenAI visual-tower keys outside the blocks -> (our CLIPViTEncoder key, layout change).
OPENAI_VISUAL_STEM: dict[str, tuple[str, Transform]] = {
    'conv1.weight': ('vit.patch_embed.proj.weight', _same),
    'class_embedding': ('vit.cls_token', lambda t: t.reshape(1, 1, -1)),
    'positional_embedding': ('vit.pos_embed', lambda t: t.unsqueeze(0)),
    'ln_pre.weight': ('vit.norm_pre.weight', _same),
    'ln_pre.bias': ('vit.norm_pre.bias', _same),
    'ln_post.weight': ('vit.norm.weight', _same),
    'ln_post.bias': ('vit.norm.bias', _same),
    'proj': ('proj.weight', lambda t: t.t()),  # CLIP stores x @ proj; ours is a Linear (weight = proj^T)
}


def openai_visual_key(key: str) -> tuple[str, Transform] | None:
    """Our ``CLIPViTEncoder`` key (and layout change) for an OpenAI ``visual.*`` key without prefix, or None."""
    if key in OPENAI_VISUAL_STEM:
        return OPENAI_VISUAL_STEM[key]
    parts = key.split('.', 3)  # transformer, resblocks, N, rest
    if len(parts) == 4 and parts[:2] == ['transformer', 'resblocks'] and parts[2].isdigit():
        for openai, timm in OPENAI_TO_TIMM_BLOCK:
            if parts[3].startswith(openai):
                return f'vit.blocks.{parts[2]}.{timm}{parts[3][len(openai):]}', _same
    return None


def map_openai_visual(state: Mapping[str, torch.Tensor], prefix: str,
                      target: str) -> dict[str, tuple[str, torch.Tensor]]:
    """Map every ``prefix``-ed OpenAI visual key of ``state`` to ``target`` + our encoder key.

    Keys under ``prefix`` that are not OpenAI visual-tower names are left unmapped (the strict
    assembly then reports them). Returns ``{our key: (official key, tensor)}``.
    """
    out = {}
    for key, value in state.items():
        if key.startswith(prefix):
            hit = openai_visual_key(key[len(prefix):])
            if hit is not None:
                out[target + hit[0]] = (key, hit[1](value))
    return out


def _one(model: nn.Module, cls: type, required: bool) -> tuple[str, nn.Module] | None:
    found = [(name, module) for name, module in model.named_modules() if isinstance(module, cls)]
    if len(found) > 1 or (required and not found):
        raise ConversionError(f'the rice-mmf layout needs a model with {"exactly" if required else "at most"} one '
                              f'{cls.__name__}; the config\'s model has {len(found)}')
    return found[0] if found else None


def _prefix(name: str) -> str:
    return f'{name}.' if name else ''


@CHECKPOINT_CONVERTERS.register_module()
class RiceMMFConverter:
    """``rice_final.pth`` of the MMF-era official code (ICL / +PMD / +PFR rows, LPR4M and MovingFashion)."""

    name = 'rice-mmf'

    def matches(self, state: Mapping[str, torch.Tensor]) -> bool:
        return f'{VISUAL}conv1.weight' in state and LOGIT_SCALE in state

    def convert(self, state: Mapping[str, torch.Tensor], model: nn.Module) -> ConversionResult:
        enc_name, encoder = _one(model, CLIPViTEncoder, required=True)
        icl_name, _ = _one(model, ICLLoss, required=True)
        pmd = _one(model, PMDLoss, required=False)
        pfr = _one(model, PFRLoss, required=False)
        if encoder.token_source != 'hidden':
            raise ConversionError("rice-mmf checkpoints need the V2 encoder (token_source='hidden'); the config's "
                                  f'encoder has {encoder.token_source!r}')
        contrastive = NORM_S in state
        has_cross = any(k.startswith(CROSS) for k in state)
        has_vim, has_rec = VIM in state, any(k.startswith(REC) for k in state)
        if contrastive and (has_cross or has_vim or has_rec):
            raise ConversionError(f'{NORM_S} (contrastive head) together with cross-model/head keys is not an '
                                  'official layout')
        if has_rec and not has_vim:
            raise ConversionError('PFR head (heads.rec) without a PMD head (heads.vim): not an official row')
        row = 'ICL+PMD+PFR' if has_rec else 'ICL+PMD' if has_vim else 'ICL'
        if (pmd is not None) != has_vim or (pfr is not None) != has_rec:
            ours = 'ICL' + ('+PMD' if pmd is not None else '') + ('+PFR' if pfr is not None else '')
            raise ConversionError(f'the checkpoint is the {row} row but the config\'s model is {ours}: use the '
                                  f'rice-{row.lower().replace("+", "-")}_* config')

        mapped = map_openai_visual(state, VISUAL, _prefix(enc_name))
        dropped: dict[str, str] = {}
        notes = [f'row {row} ({"contrastive" if contrastive else "pretraining"} head)']
        scale_key = f'{_prefix(icl_name)}logit_scale'
        if contrastive:
            mapped[scale_key] = (NORM_S, state[NORM_S].reshape(()))
            dropped[LOGIT_SCALE] = ('contrastive head: TaskBaseModel.logit_scale is built but unused (the ICL scale '
                                    'of this row is contrastive_norm.norm_s)')
        else:
            mapped[scale_key] = (LOGIT_SCALE, state[LOGIT_SCALE].reshape(()))
        for key in state:
            if key.startswith(f'{CROSS}embeddings.'):
                dropped[key] = ('cross-model embeddings: their call in CrossModel.forward is commented out, image '
                                'tokens enter the blocks without them (unused)')
            elif key.startswith(CROSS) and not has_vim:
                dropped[key] = ('cross model of an ICL-only row: built (CLIP-initialised) but no task of this row '
                                'uses it, so never trained')
        if pmd is not None:
            mapped.update(self._pmd(state, pmd))
        if pfr is not None:
            pfr_name = _prefix(pfr[0])
            for layer in ('0', '2'):
                for param in ('weight', 'bias'):
                    key = f'{REC}{layer}.{param}'
                    if key in state:
                        mapped[f'{pfr_name}attn_head.{layer}.{param}'] = (key, state[key])
        return assemble(state, model, mapped, dropped, notes)

    @staticmethod
    def _pmd(state: Mapping[str, torch.Tensor], pmd: tuple[str, PMDLoss]) -> dict[str, tuple[str, torch.Tensor]]:
        """The self block, cross block, pooler and score direction of the PMD decoder."""
        name, loss = pmd
        decoder = loss.decoder
        if decoder.num_heads != OFFICIAL_PMD_HEADS or decoder.score_scale != OFFICIAL_PMD_SCALE:
            raise ConversionError(f'official PMD has {OFFICIAL_PMD_HEADS} heads and score scale '
                                  f'{OFFICIAL_PMD_SCALE:g}; the config has num_heads={decoder.num_heads}, '
                                  f'score_scale={decoder.score_scale:g}')
        ours = f'{_prefix(name)}decoder.'
        # Both official blocks use CLIP's parameter names, as ours do: only the module path changes.
        paths = {f'{CROSS}transformer.layers.0.': 'self_block.', f'{CROSS}transformer.layers.1.': 'cross_block.',
                 f'{CROSS}pooler.layer_norm.': 'pooler_norm.', f'{CROSS}pooler.dense.': 'pooler.',
                 'transformer.heads.vim.': 'score_head.'}
        out = {}
        for key, value in state.items():
            for official, path in paths.items():
                if key.startswith(official):
                    out[ours + path + key[len(official):]] = (key, value)
                    break
        return out
