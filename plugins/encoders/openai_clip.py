"""Read OpenAI CLIP checkpoints (JIT archive or plain state dict) from a local path.

Nothing is downloaded: the user places ``ViT-B-32.pt`` (the OpenAI release, a TorchScript
archive) or a plain ``state_dict`` saved with ``torch.save`` on disk and names it in the config.
The OpenAI key layout is ``visual.conv1.weight``, ``visual.class_embedding``,
``visual.positional_embedding``, ``visual.ln_pre.*``, ``visual.transformer.resblocks.N.*``,
``visual.ln_post.*``, ``visual.proj`` (method.md §2); text-tower keys are ignored.
"""
from __future__ import annotations

from pathlib import Path

import torch

from csa_bench.utils.hints import missing_weights

#: timm block parameter names -> OpenAI ``resblocks.N`` names (the inverse of timm's converter).
TIMM_TO_OPENAI_BLOCK = (
    ('norm1.', 'ln_1.'),
    ('attn.qkv.weight', 'attn.in_proj_weight'),
    ('attn.qkv.bias', 'attn.in_proj_bias'),
    ('attn.proj.', 'attn.out_proj.'),
    ('norm2.', 'ln_2.'),
    ('mlp.fc1.', 'mlp.c_fc.'),
    ('mlp.fc2.', 'mlp.c_proj.'),
)


def read_clip_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Load a CLIP checkpoint as an fp32 state dict with OpenAI key names.

    Accepts a TorchScript archive (``torch.jit.load(...).state_dict()``), a plain state dict, or a
    dict wrapping one under ``state_dict``/``model``. Keys may carry a ``module.`` prefix (DDP).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file holds no ``visual.*`` CLIP weights.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(missing_weights('OpenAI CLIP weights', path))
    try:
        # The OpenAI release is a TorchScript archive; its state dict is the model's weights.
        state = torch.jit.load(str(path), map_location='cpu').state_dict()
    except (RuntimeError, ValueError):
        # A plain torch.save() file is not loadable by torch.jit: read it as data only.
        state = torch.load(str(path), map_location='cpu', weights_only=True)
    if isinstance(state, dict):
        for wrapper in ('state_dict', 'model'):
            if isinstance(state.get(wrapper), dict):
                state = state[wrapper]
    if not isinstance(state, dict):
        raise ValueError(f'{path}: expected a state dict, got {type(state).__name__}')
    state = {(k[len('module.'):] if k.startswith('module.') else k): v for k, v in state.items()}
    if 'visual.class_embedding' not in state:
        sample = sorted(state)[:5]
        raise ValueError(f'{path}: not an OpenAI CLIP checkpoint (no "visual.class_embedding"; first keys '
                         f'{sample})')
    # OpenAI ships fp16 weights; V2 disables CLIP's fp16 conversion and trains in fp32 + autocast.
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def timm_block_to_openai(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename one timm ``Block``'s state dict to OpenAI ``resblocks.N`` names (no prefix).

    Identity sub-modules of timm's block (layer scale, q/k norms) hold no parameters, so every
    remaining key has an OpenAI counterpart; an unknown key is an error.
    """
    out = {}
    for key, value in state.items():
        for old, new in TIMM_TO_OPENAI_BLOCK:
            if key.startswith(old):
                out[new + key[len(old):]] = value
                break
        else:
            raise KeyError(f'timm block key {key!r} has no OpenAI CLIP counterpart')
    return out
