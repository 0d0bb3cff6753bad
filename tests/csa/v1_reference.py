"""An independent, plain-torch statement of the V1 (CLIP4Clip-era) RICE model, for the tests.

Written from a reading of the official code at its first commit (``module/modeling.py``,
``module/module_cross.py``, ``module/module_clip.py``), working directly on the official state-dict
layout (``clip.visual.*``, ``cross.*``, ``similarity_dense.*``, ``recons_weights.*``); nothing of
``plugins.csa`` is used here. Also the random-state builder in that layout and the tiny V1 model
config the tests convert onto.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

#: Tiny geometry: the 'tiny' CLIP arch (64 px, patch 16, width 64, 2 layers, 4 heads, 32-d embedding),
#: a 2-block text tower of width 32 with a context of 20, and a 32-wide decoder with 8 heads.
TINY = dict(img=64, patch=16, width=64, layers=2, heads=4, embed=32, text_layers=2, context=20, vocab=50,
            cross_heads=8)


def tiny_v1_model_cfg(row: str, fp16: bool = False) -> dict:
    """The V1 model config of ``row`` ('icl', 'pmd', 'pfr') on the tiny CLIP (mirrors configs/rice/rice-v1-*)."""
    losses = [dict(type='ICLLoss', loss_weight=1.0, scale_init=10.0, learnable_scale=False, gather=True)]
    if row in ('pmd', 'pfr'):
        losses.append(dict(type='PMDLoss', width=TINY['embed'], num_heads=TINY['cross_heads'], attn_drop=0.1,
                           kv_norm=True, query_pos=TINY['context'], query_pos_drop=0.1, cross_out_proj=False,
                           scale_maps=False, ln_eps=1e-12, pooler_bias=True, pooler_act='quick_gelu',
                           score='linear', score_scale=100.0, pmd_init='clip_text'))
    if row == 'pfr':
        losses.append(dict(type='PFRLoss', num_heads=TINY['cross_heads'], loss_weight=0.05, softmax=False,
                           drop_cls=True, conv_init='default'))
    return dict(type='RICERetriever', data_preprocessor=dict(type='RetrievalDataPreprocessor'),
                encoder=dict(type='CLIPViTEncoder', arch='tiny', token_source='projected', frozen_stem=True,
                             fp16=fp16),
                pooling=dict(type='MeanPooling', norm_first=True), losses=losses)


def _block(prefix: str, width: int, g: torch.Generator, half: bool) -> dict:
    """One OpenAI ``ResidualAttentionBlock`` (packed in-projection)."""
    def w(*shape, std=0.05):
        t = torch.randn(*shape, generator=g) * std
        return t.half() if half else t
    return {f'{prefix}ln_1.weight': 1 + 0.1 * torch.randn(width, generator=g),
            f'{prefix}ln_1.bias': 0.1 * torch.randn(width, generator=g),
            f'{prefix}attn.in_proj_weight': w(3 * width, width, std=width ** -0.5),
            f'{prefix}attn.in_proj_bias': w(3 * width),
            f'{prefix}attn.out_proj.weight': w(width, width, std=width ** -0.5),
            f'{prefix}attn.out_proj.bias': w(width),
            f'{prefix}ln_2.weight': 1 + 0.1 * torch.randn(width, generator=g),
            f'{prefix}ln_2.bias': 0.1 * torch.randn(width, generator=g),
            f'{prefix}mlp.c_fc.weight': w(4 * width, width, std=width ** -0.5),
            f'{prefix}mlp.c_fc.bias': w(4 * width),
            f'{prefix}mlp.c_proj.weight': w(width, 4 * width, std=(4 * width) ** -0.5),
            f'{prefix}mlp.c_proj.bias': w(width)}


def official_state(row: str, dims: dict = TINY, seed: int = 0) -> dict[str, torch.Tensor]:
    """A random ``pytorch_model.bin.0`` state dict of ``row`` in the CLIP4Clip-era layout.

    CLIP conv/Linear/in-projection/proj tensors are float16 (``convert_weights``), everything else
    float32; the decoder and PFR head are float32 (they are not part of CLIP).
    """
    g = torch.Generator().manual_seed(seed)
    width, embed, grid = dims['width'], dims['embed'], dims['img'] // dims['patch']
    s: dict[str, torch.Tensor] = {
        'clip.visual.conv1.weight': (torch.randn(width, 3, dims['patch'], dims['patch'], generator=g) * 0.02).half(),
        'clip.visual.class_embedding': torch.randn(width, generator=g) * width ** -0.5,
        'clip.visual.positional_embedding': torch.randn(grid * grid + 1, width, generator=g) * width ** -0.5,
        'clip.visual.ln_pre.weight': 1 + 0.1 * torch.randn(width, generator=g),
        'clip.visual.ln_pre.bias': 0.1 * torch.randn(width, generator=g),
    }
    for i in range(dims['layers']):
        s.update(_block(f'clip.visual.transformer.resblocks.{i}.', width, g, half=True))
    s.update({'clip.visual.ln_post.weight': 1 + 0.1 * torch.randn(width, generator=g),
              'clip.visual.ln_post.bias': 0.1 * torch.randn(width, generator=g),
              'clip.visual.proj': (torch.randn(width, embed, generator=g) * width ** -0.5).half(),
              'clip.positional_embedding': torch.randn(dims['context'], embed, generator=g) * 0.01,
              'clip.token_embedding.weight': torch.randn(dims['vocab'], embed, generator=g) * 0.02})
    for i in range(dims['text_layers']):
        s.update(_block(f'clip.transformer.resblocks.{i}.', embed, g, half=True))
    s.update({'clip.ln_final.weight': torch.ones(embed), 'clip.ln_final.bias': torch.zeros(embed),
              'clip.text_projection': (torch.randn(embed, embed, generator=g) * embed ** -0.5).half(),
              'clip.logit_scale': torch.tensor(math.log(100.0))})
    if row in ('pmd', 'pfr'):
        s['cross.embeddings.position_embeddings.weight'] = torch.randn(dims['context'], embed, generator=g) * 0.1
        s.update({k: v.float() for k, v in _block('cross.transformer.resblocks.0.', embed, g, half=False).items()})
        block = _block('cross.transformer.cross_attention.', embed, g, half=False)
        for name in ('ln_1.weight', 'ln_1.bias', 'ln_2.weight', 'ln_2.bias', 'mlp.c_fc.weight', 'mlp.c_fc.bias',
                     'mlp.c_proj.weight', 'mlp.c_proj.bias'):
            s[f'cross.transformer.cross_attention.{name}'] = block[f'cross.transformer.cross_attention.{name}']
        for name in ('query', 'key', 'value'):
            s[f'cross.transformer.cross_attention.attn.{name}.weight'] = torch.randn(embed, embed, generator=g) * 0.2
            s[f'cross.transformer.cross_attention.attn.{name}.bias'] = torch.randn(embed, generator=g) * 0.05
        s['cross.pooler.ln_pool.weight'] = 1 + 0.1 * torch.randn(embed, generator=g)
        s['cross.pooler.ln_pool.bias'] = 0.1 * torch.randn(embed, generator=g)
        s['cross.pooler.dense.weight'] = torch.randn(embed, embed, generator=g) * embed ** -0.5
        s['cross.pooler.dense.bias'] = torch.randn(embed, generator=g) * 0.05
        s['similarity_dense.weight'] = torch.randn(1, embed, generator=g) * embed ** -0.5
        s['similarity_dense.bias'] = torch.randn(1, generator=g) * 0.05
    if row == 'pfr':
        h = dims['cross_heads']
        # Large weights, small biases: the output then depends on the maps (probabilities ~1/(T·L)).
        s['recons_weights.conv.0.weight'] = torch.randn(h // 2, h, 1, 1, generator=g).abs() * 3.0
        s['recons_weights.conv.0.bias'] = torch.randn(h // 2, generator=g) * 0.005
        s['recons_weights.conv.2.weight'] = torch.randn(1, h // 2, 1, 1, generator=g).abs() * 3.0
        s['recons_weights.conv.2.bias'] = torch.randn(1, generator=g) * 0.005
    return s


# ---------------------------------------------------------------------- the V1 forward, restated
def quick_gelu(x: torch.Tensor) -> torch.Tensor:
    return x * torch.sigmoid(1.702 * x)


def layer_norm(x: torch.Tensor, s: dict, prefix: str, eps: float) -> torch.Tensor:
    """CLIP's LayerNorm (fp32 compute, cast back) or the TF-style one of module_cross (eps inside the root)."""
    w, b = s[prefix + 'weight'].float(), s[prefix + 'bias'].float()
    xf = x.float()
    u = xf.mean(-1, keepdim=True)
    var = (xf - u).pow(2).mean(-1, keepdim=True)
    return ((xf - u) / torch.sqrt(var + eps) * w + b).to(x.dtype)


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    out = x @ weight.to(x.dtype).t()
    return out + bias.to(x.dtype) if bias is not None else out


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int,
              key_pad: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled dot-product attention, ``key_pad`` (n, S) True = padded, added as -1e6 (module_cross)."""
    n, lq, d = q.shape
    hd = d // heads
    split = lambda t: t.reshape(n, -1, heads, hd).transpose(1, 2)  # noqa: E731
    scores = split(q) @ split(k).transpose(-1, -2) / math.sqrt(hd)
    if key_pad is not None:
        scores = scores + key_pad[:, None, None, :].to(scores.dtype) * -1000000.0
    probs = scores.softmax(-1)
    return (probs @ split(v)).transpose(1, 2).reshape(n, lq, d), probs


def clip_block(x: torch.Tensor, s: dict, p: str, heads: int, eps: float) -> torch.Tensor:
    """OpenAI residual block: ``x + MHA(LN1 x)``, ``x + MLP(LN2 x)``."""
    h = layer_norm(x, s, p + 'ln_1.', eps)
    wq, wk, wv = s[p + 'attn.in_proj_weight'].chunk(3)
    bq, bk, bv = s[p + 'attn.in_proj_bias'].chunk(3)
    out, _ = attention(linear(h, wq, bq), linear(h, wk, bk), linear(h, wv, bv), heads)
    x = x + linear(out, s[p + 'attn.out_proj.weight'], s[p + 'attn.out_proj.bias'])
    h = layer_norm(x, s, p + 'ln_2.', eps)
    return x + linear(quick_gelu(linear(h, s[p + 'mlp.c_fc.weight'], s[p + 'mlp.c_fc.bias'])),
                      s[p + 'mlp.c_proj.weight'], s[p + 'mlp.c_proj.bias'])


def encode_image(s: dict, images: torch.Tensor, heads: int, dtype: torch.dtype = torch.float32
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """``CLIP.encode_image(return_hidden=True)`` then ``.float()``: ``(cls (N, E), hidden (N, L, E))``."""
    x = images.to(dtype)
    conv = s['clip.visual.conv1.weight'].to(dtype)
    x = F.conv2d(x, conv, stride=conv.shape[-1])
    x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
    cls = s['clip.visual.class_embedding'].to(dtype) + torch.zeros(x.shape[0], 1, x.shape[-1], dtype=dtype)
    x = torch.cat([cls, x], dim=1) + s['clip.visual.positional_embedding'].to(dtype)
    x = layer_norm(x, s, 'clip.visual.ln_pre.', 1e-5)
    i = 0
    while f'clip.visual.transformer.resblocks.{i}.ln_1.weight' in s:
        x = clip_block(x, s, f'clip.visual.transformer.resblocks.{i}.', heads, 1e-5)
        i += 1
    hidden = layer_norm(x, s, 'clip.visual.ln_post.', 1e-5) @ s['clip.visual.proj'].to(dtype)
    return hidden[:, 0].float(), hidden.float()


def video_embedding(frame_cls: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """normalise -> masked mean -> normalise, ``(B, T, E), (B, T) -> (B, E)``."""
    x = frame_cls / frame_cls.norm(dim=-1, keepdim=True)
    m = mask.float()[..., None]
    x = (x * m).sum(1) / m.sum(1).clamp(min=1.0)
    return x / x.norm(dim=-1, keepdim=True)


def cross_forward(s: dict, q: torch.Tensor, kv: torch.Tensor, kv_valid: torch.Tensor, heads: int
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """``CrossModel`` (cross_num_hidden_layers=2, eval: no dropout) + ``similarity_dense``.

    Returns ``(logit (n,), attention probabilities (n, h, L, S))``; the caller multiplies by 100
    in training.
    """
    x = q + s['cross.embeddings.position_embeddings.weight'][: q.shape[1]]
    x = clip_block(x, s, 'cross.transformer.resblocks.0.', heads, 1e-12)
    p = 'cross.transformer.cross_attention.'
    ln_kv = layer_norm(kv, s, p + 'ln_1.', 1e-12)
    h = layer_norm(x, s, p + 'ln_1.', 1e-12)
    out, probs = attention(linear(h, s[p + 'attn.query.weight'], s[p + 'attn.query.bias']),
                           linear(ln_kv, s[p + 'attn.key.weight'], s[p + 'attn.key.bias']),
                           linear(ln_kv, s[p + 'attn.value.weight'], s[p + 'attn.value.bias']), heads,
                           key_pad=~kv_valid)
    x = x + out  # no output projection
    h = layer_norm(x, s, p + 'ln_2.', 1e-12)
    x = x + linear(quick_gelu(linear(h, s[p + 'mlp.c_fc.weight'], s[p + 'mlp.c_fc.bias'])),
                   s[p + 'mlp.c_proj.weight'], s[p + 'mlp.c_proj.bias'])
    pooled = layer_norm(x, s, 'cross.pooler.ln_pool.', 1e-12)[:, 0]
    pooled = quick_gelu(linear(pooled, s['cross.pooler.dense.weight'], s['cross.pooler.dense.bias']))
    logit = linear(pooled, s['similarity_dense.weight'], s['similarity_dense.bias']).squeeze(-1)
    return logit, probs


def v1_losses(s: dict, video: torch.Tensor, video_mask: torch.Tensor, image: torch.Tensor, row: str,
              dims: dict = TINY) -> dict[str, torch.Tensor]:
    """The V1 training losses on one process with every dropout off (``CLIP4Clip.forward``)."""
    b, t = video.shape[:2]
    image_cls, image_hidden = encode_image(s, image, dims['heads'])
    frame_cls, frame_hidden = encode_image(s, video.flatten(0, 1), dims['heads'])
    frame_cls = frame_cls.view(b, t, -1)
    frame_hidden = frame_hidden.view(b, t, *frame_hidden.shape[1:])
    u = image_cls / image_cls.norm(dim=-1, keepdim=True)
    v = video_embedding(frame_cls, video_mask)
    sim = 100.0 * u @ v.t()  # (B image rows, B clip columns)
    ce = lambda m: -F.log_softmax(m, dim=-1).diag().mean()  # noqa: E731
    out = {'loss_icl': (ce(sim) + ce(sim.t())) / 2}
    if row == 'icl':
        return out
    length = frame_hidden.shape[2]
    patch_mask = video_mask[:, :, None].expand(b, t, length)
    kv_all, valid_all = frame_hidden.reshape(b, t * length, -1), patch_mask.reshape(b, -1)
    logits, pos_maps = [], []
    for i in range(b):
        order = [j for j in sim[i].sort(descending=True).indices.tolist() if j != i][:3]
        cand = [i] + order
        logit, probs = cross_forward(s, image_hidden[i:i + 1].expand(4, -1, -1), kv_all[cand], valid_all[cand],
                                     dims['cross_heads'])
        logits.append(100.0 * logit)
        pos_maps.append(probs[0])
    logits = torch.stack(logits)
    out['loss_pmd'] = -F.log_softmax(logits, dim=-1)[:, 0].mean()
    if row == 'pmd':
        return out
    maps = torch.stack(pos_maps)  # (B, h, L, T·L)
    h = maps.shape[1]
    y = (frame_hidden * patch_mask[..., None])[:, :, 1:].reshape(b, t * (length - 1), -1)
    w = maps.view(b, h, length, t, length)[:, :, 1:, :, 1:].reshape(b, h, length - 1, t * (length - 1))
    w = F.relu(F.conv2d(w, s['recons_weights.conv.0.weight'], s['recons_weights.conv.0.bias']))
    w = F.relu(F.conv2d(w, s['recons_weights.conv.2.weight'], s['recons_weights.conv.2.bias'])).squeeze(1)
    out['loss_pfr'] = 0.05 * F.mse_loss(torch.bmm(w, y), image_hidden[:, 1:])
    return out
