"""Import the CLIP4Clip-era (V1) RICE checkpoints ``pytorch_model.bin.<epoch>`` (docs/method_v1.md).

The file is ``torch.save(model.state_dict())`` of the V1 ``CLIP4Clip`` module: a plain state dict
with no prefix. Its layout, by row:

- every row: ``clip.*``, a whole OpenAI CLIP: the visual tower ``clip.visual.*`` (conv1,
  class/positional embedding, ``ln_pre``, ``transformer.resblocks.N.*``, ``ln_post``, ``proj``)
  and the text tower (``token_embedding``, ``positional_embedding``, ``transformer.resblocks.*``,
  ``ln_final``, ``text_projection``) plus ``clip.logit_scale``. Conv, Linear, in-projection and
  ``proj``/``text_projection`` tensors are float16 (CLIP's ``convert_weights``); the rest float32.
- +PMD: ``cross.*``, a 512-wide decoder: ``cross.embeddings.position_embeddings.weight`` (77
  query positions), one self block ``cross.transformer.resblocks.0.*`` (CLIP names, packed
  in-projection), the cross block ``cross.transformer.cross_attention.*`` (separate
  ``attn.{query,key,value}`` Linears and **no** output projection, CLIP-named LN/MLP), the pooler
  ``cross.pooler.{ln_pool,dense}`` (dense with bias) and ``similarity_dense`` (Linear(512, 1)).
- +PFR: ``recons_weights.conv.{0,2}.*`` (two 1x1 convs).

The converter maps every key onto a ``RICERetriever`` built from a V1 config (see
``configs/rice/rice-v1-*``) or drops it with a reason, refuses anything it does not know, and
checks every shape against the model.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from csa_bench.registry import CHECKPOINT_CONVERTERS

from ..encoders.clip_vit import CLIPViTEncoder
from .icl import ICLLoss
from .pfr import PFRLoss
from .pmd import PMDLoss

try:  # the core's converter types (csa_bench/checkpoints), when this version of the core has them
    from csa_bench.checkpoints import ConversionError, ConversionResult
except ImportError:  # pragma: no cover - an older core: the same contract, defined here
    @dataclass
    class ConversionResult:
        """What a converter returns: the model's state dict, the dropped keys with reasons, notes."""

        state_dict: dict[str, Tensor]
        dropped: dict[str, str] = field(default_factory=dict)
        notes: list[str] = field(default_factory=list)

    class ConversionError(ValueError):
        """A checkpoint that does not fit the model (unknown/missing key, shape or row mismatch)."""


#: OpenAI CLIP block names -> timm block names (the encoder's ``vit.blocks.N``).
_BLOCK_RENAMES = (('ln_1.', 'norm1.'), ('attn.in_proj_weight', 'attn.qkv.weight'),
                  ('attn.in_proj_bias', 'attn.qkv.bias'), ('attn.out_proj.', 'attn.proj.'), ('ln_2.', 'norm2.'),
                  ('mlp.c_fc.', 'mlp.fc1.'), ('mlp.c_proj.', 'mlp.fc2.'))
#: Text-tower keys of ``clip.*`` (V1 never calls ``encode_text``) and CLIP's own logit scale.
_TEXT_KEYS = re.compile(r'clip\.(token_embedding\.weight|positional_embedding|transformer\.resblocks\.\d+\..+|'
                        r'ln_final\.(weight|bias)|text_projection)$')
#: Non-tensor CLIP metadata the OpenAI JIT archive carries (tolerated, dropped).
_CLIP_META = ('clip.input_resolution', 'clip.context_length', 'clip.vocab_size')
#: Cross-block keys with CLIP names (the same under our ``cross_block``).
_CROSS_SAME = ('ln_1.weight', 'ln_1.bias', 'ln_2.weight', 'ln_2.bias', 'mlp.c_fc.weight', 'mlp.c_fc.bias',
               'mlp.c_proj.weight', 'mlp.c_proj.bias')


def _visual_key(rest: str) -> str | None:
    """Our encoder key for ``clip.visual.<rest>`` (None: unknown)."""
    simple = {'conv1.weight': 'vit.patch_embed.proj.weight', 'class_embedding': 'vit.cls_token',
              'positional_embedding': 'vit.pos_embed', 'ln_pre.weight': 'vit.norm_pre.weight',
              'ln_pre.bias': 'vit.norm_pre.bias', 'ln_post.weight': 'vit.norm.weight',
              'ln_post.bias': 'vit.norm.bias', 'proj': 'proj.weight'}
    if rest in simple:
        return simple[rest]
    match = re.fullmatch(r'transformer\.resblocks\.(\d+)\.(.+)', rest)
    if match:
        for old, new in _BLOCK_RENAMES:
            if match.group(2).startswith(old):
                return f'vit.blocks.{match.group(1)}.{new}{match.group(2)[len(old):]}'
    return None


def _find(model: nn.Module, kind: type) -> str | None:
    """Prefix (with trailing dot) of the first sub-module of type ``kind``, or None."""
    for name, module in model.named_modules():
        if isinstance(module, kind):
            return f'{name}.' if name else ''
    return None


@CHECKPOINT_CONVERTERS.register_module(name='rice-clip4clip')
class RiceClip4ClipConverter:
    """``rice-clip4clip``: V1 ``pytorch_model.bin.*`` -> a V1-config ``RICERetriever`` state dict."""

    name = 'rice-clip4clip'

    def matches(self, state: Mapping[str, Tensor]) -> bool:
        """A CLIP4Clip-era file: un-prefixed ``clip.visual.*`` keys (the MMF era uses ``image_encoder.``)."""
        return 'clip.visual.class_embedding' in state and 'clip.visual.conv1.weight' in state

    def convert(self, state: Mapping[str, Tensor], model: nn.Module) -> ConversionResult:
        """Map ``state`` onto ``model`` strictly.

        Returns:
            ``ConversionResult(state_dict, dropped, notes)``: ``state_dict`` has exactly the model's
            keys, each in the model's dtype; ``dropped`` names every unused official key and why.

        Raises:
            ConversionError: an official key no rule knows, a model key left without a value, a
                shape mismatch, or a checkpoint row (ICL / +PMD / +PFR) other than the config's.
        """
        if not self.matches(state):
            raise ConversionError('not a CLIP4Clip-era RICE checkpoint (no clip.visual.* keys)')
        target = model.state_dict()
        enc = self._encoder_prefix(model)
        pmd, pfr, icl = _find(model, PMDLoss), _find(model, PFRLoss), _find(model, ICLLoss)
        has_cross = any(k.startswith(('cross.', 'similarity_dense.')) for k in state)
        has_recons = any(k.startswith('recons_weights.') for k in state)
        if has_cross and pmd is None:
            raise ConversionError('the checkpoint holds a PMD decoder (cross.*, similarity_dense.*) but the config has '
                                  'no PMDLoss: use the +PMD or +PFR V1 config')
        if has_recons and pfr is None:
            raise ConversionError('the checkpoint holds a PFR head (recons_weights.*) but the config has no PFRLoss: '
                                  'use the +PFR V1 config')
        out: dict[str, Tensor] = {}
        dropped: dict[str, str] = {}
        notes: list[str] = []
        qkv: dict[str, dict[str, Tensor]] = {'weight': {}, 'bias': {}}

        def put(ours: str, value: Tensor, source: str) -> None:
            if ours in out:
                raise ConversionError(f'{source}: maps onto {ours!r}, which another key already set')
            out[ours] = value

        for key, value in state.items():
            if not isinstance(value, Tensor):
                raise ConversionError(f'{key}: expected a tensor, got {type(value).__name__}')
            if key.startswith('clip.visual.'):
                ours = _visual_key(key[len('clip.visual.'):])
                if ours is None:
                    raise ConversionError(f'{key}: unknown CLIP visual key')
                if ours == 'vit.cls_token':
                    value = value.reshape(1, 1, -1)
                elif ours == 'vit.pos_embed':
                    value = value.unsqueeze(0)
                elif ours == 'proj.weight':
                    value = value.t()  # CLIP's x @ proj is Linear(weight = proj^T)
                put(enc + ours, value, key)
            elif _TEXT_KEYS.match(key):
                dropped[key] = 'CLIP text tower: V1 never encodes text (the PMD copy of its block 0 is cross.*)'
            elif key == 'clip.logit_scale':
                dropped[key] = "CLIP's own logit scale: unused (V1's ICL multiplies cos by a fixed 100)"
            elif key in _CLIP_META:
                dropped[key] = 'CLIP archive metadata, not a weight'
            elif key.startswith(('cross.', 'similarity_dense.')):
                self._map_pmd(key, value, pmd, put, qkv)
            elif key.startswith('recons_weights.conv.'):
                match = re.fullmatch(r'recons_weights\.conv\.([02])\.(weight|bias)', key)
                if match is None:
                    raise ConversionError(f'{key}: unknown PFR key '
                                          '(expected recons_weights.conv.{0,2}.{weight,bias})')
                put(f'{pfr}attn_head.{match.group(1)}.{match.group(2)}', value, key)
            else:
                raise ConversionError(f'{key}: not a key of the CLIP4Clip-era RICE model')
        for part, pieces in qkv.items():
            if pieces:
                missing = [n for n in ('query', 'key', 'value') if n not in pieces]
                if missing:
                    raise ConversionError(f'cross.transformer.cross_attention.attn: {missing} {part} missing')
                put(f'{pmd}decoder.cross_block.attn.in_proj_{part}',
                    torch.cat([pieces['query'], pieces['key'], pieces['value']]), f'cross attention q/k/v {part}')
        if icl is not None and f'{icl}logit_scale' in target and f'{icl}logit_scale' not in out:
            icl_module = model.get_submodule(icl[:-1]) if icl else model
            if icl_module.learnable_scale or abs(float(icl_module.logit_scale) ** 2 - 100.0) > 1e-3:
                raise ConversionError('V1 trained ICL with a fixed 100·cos; the config must use '
                                      'ICLLoss(scale_init=10.0, learnable_scale=False)')
            out[f'{icl}logit_scale'] = target[f'{icl}logit_scale'].clone()
            notes.append(f'{icl}logit_scale: V1 stores no ICL scale (fixed 100·cos); '
                         'kept the config value 10 (σ²=100)')
        self._check(out, target, notes)
        return ConversionResult(state_dict=out, dropped=dropped, notes=notes)

    @staticmethod
    def _encoder_prefix(model: nn.Module) -> str:
        prefix = _find(model, CLIPViTEncoder)
        if prefix is None:
            raise ConversionError('the config has no CLIPViTEncoder for the clip.visual.* weights')
        return prefix

    @staticmethod
    def _map_pmd(key: str, value: Tensor, pmd: str, put, qkv: dict) -> None:
        """Route one ``cross.*`` / ``similarity_dense.*`` key; q/k/v pieces wait in ``qkv`` for fusing."""
        dec = f'{pmd}decoder.'
        if key == 'cross.embeddings.position_embeddings.weight':
            put(dec + 'query_pos.weight', value, key)
            return
        if key.startswith('cross.transformer.resblocks.'):
            match = re.fullmatch(r'cross\.transformer\.resblocks\.(\d+)\.(.+)', key)
            if match is None or match.group(1) != '0':
                raise ConversionError(f'{key}: the RICE decoder has one self block (resblocks.0); '
                                      'this checkpoint has more (cross_num_hidden_layers > 2 is not a seed row)')
            put(dec + 'self_block.' + match.group(2), value, key)
            return
        prefix = 'cross.transformer.cross_attention.'
        if key.startswith(prefix):
            rest = key[len(prefix):]
            match = re.fullmatch(r'attn\.(query|key|value)\.(weight|bias)', rest)
            if match:
                qkv[match.group(2)][match.group(1)] = value
                return
            if rest in _CROSS_SAME:
                put(dec + 'cross_block.' + rest, value, key)
                return
            raise ConversionError(f'{key}: unknown cross-attention key')
        pooler = {'cross.pooler.ln_pool.weight': 'pooler_norm.weight', 'cross.pooler.ln_pool.bias': 'pooler_norm.bias',
                  'cross.pooler.dense.weight': 'pooler.weight', 'cross.pooler.dense.bias': 'pooler.bias',
                  'similarity_dense.weight': 'score_head.weight', 'similarity_dense.bias': 'score_head.bias'}
        if key in pooler:
            put(dec + pooler[key], value, key)
            return
        raise ConversionError(f'{key}: unknown PMD key')

    @staticmethod
    def _check(out: dict[str, Tensor], target: dict[str, Tensor], notes: list[str]) -> None:
        """Exactly the model's keys and shapes; cast to the model's dtypes (noted)."""
        missing = sorted(set(target) - set(out))
        extra = sorted(set(out) - set(target))
        if missing or extra:
            raise ConversionError(f'the checkpoint does not fit the config: model keys without a value {missing[:8]}'
                                  f'{" ..." if len(missing) > 8 else ""}; mapped keys the model lacks {extra[:8]}'
                                  f'{" ..." if len(extra) > 8 else ""} (is this the config of the same row?)')
        bad = [f'{k}: checkpoint {tuple(v.shape)} vs model {tuple(target[k].shape)}' for k, v in out.items()
               if tuple(v.shape) != tuple(target[k].shape)]
        if bad:
            raise ConversionError(f'shape mismatch: {bad[:6]}{" ..." if len(bad) > 6 else ""}')
        cast = 0
        for key, value in out.items():
            if value.dtype != target[key].dtype:
                out[key] = value.to(target[key].dtype)
                cast += 1
        if cast:
            notes.append(f'{cast} tensors cast to the model dtype (V1 stores CLIP conv/Linear weights in float16)')
