"""The MMF-era official RICE checkpoint layout and forward, written from the official code, for the tests.

Independent of plugins/csa: key names and shapes follow the official modules
(``mmf/models/rice/{rice,base_task,contrastive,pretraining,module_crossattn}.py``,
``mmf/modules/encoders.py`` ``OpenAICLIPEncoder`` = ``clip.visual``), and the reference forward
restates their math in plain torch:

- visual tower: conv patch embed, class token, positional embedding, ``ln_pre``, pre-LN blocks
  (packed in-projection, QuickGELU MLP), tokens ``H`` before ``ln_post``; ``g = ln_post(H[:, 0]) @ proj``;
- ICL: video = masked mean of frame ``g``; both sides L2-normalised and multiplied by the scale
  (``logit_scale``, or ``contrastive_norm.norm_s``); loss = mean of the two cross-entropies;
- PMD (``_forward_vim``): self layer (``nn.MultiheadAttention``, TF LayerNorm eps 1e-12) on the
  image tokens, cross layer (LayerNorm eps 1e-5 on the query only; raw video tokens as K/V; padded
  frames' keys get ``finfo.min``), pooler LN -> token 0 -> dense (no bias) -> ReLU, score
  ``10·cos(pooled, vim.weight)``; hard negatives = top-3 videos by ``image_emb @ video_emb.T``;
- PFR (``_forward_rec``): cross-attention probabilities ``/ scale`` (``·sqrt(d_h)``) -> rec convs
  -> softmax over *all* keys (no padding mask) -> ``@ (video tokens · frame mask)`` -> MSE to the
  image tokens.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

PMD_HEADS = 8  # official CrossConfig.num_attention_heads
POSITIONS = 50  # official yaml max_position_embeddings (the unused cross embeddings)
POOLER_EPS = 1e-5  # official CrossConfig.layer_norm_eps (CrossPooler's LayerNorm)


def _block(prefix: str, width: int) -> dict[str, tuple[int, ...]]:
    """One CLIP-named residual block (``ln_1, attn.{in_proj_*, out_proj}, ln_2, mlp.{c_fc, c_proj}``)."""
    return {
        f'{prefix}ln_1.weight': (width,), f'{prefix}ln_1.bias': (width,),
        f'{prefix}attn.in_proj_weight': (3 * width, width), f'{prefix}attn.in_proj_bias': (3 * width,),
        f'{prefix}attn.out_proj.weight': (width, width), f'{prefix}attn.out_proj.bias': (width,),
        f'{prefix}ln_2.weight': (width,), f'{prefix}ln_2.bias': (width,),
        f'{prefix}mlp.c_fc.weight': (4 * width, width), f'{prefix}mlp.c_fc.bias': (4 * width,),
        f'{prefix}mlp.c_proj.weight': (width, 4 * width), f'{prefix}mlp.c_proj.bias': (width,),
    }


def official_shapes(*, width: int = 64, layers: int = 2, patch: int = 16, grid: int = 4, embed: int = 32,
                    head: str = 'pretraining', pmd: bool = False, pfr: bool = False) -> dict[str, tuple[int, ...]]:
    """Key -> shape of a ``rice_final.pth`` (no ``module.`` prefix); defaults: the synthetic configs' tiny CLIP.

    Args:
        head: ``'contrastive'`` (official LPR4M ICL row: ``contrastive_norm``, no cross model) or
            ``'pretraining'`` (every other row: the cross model is always built).
        pmd / pfr: Add ``heads.vim`` / ``heads.rec`` (the +PMD / +PFR rows).
    """
    v = 'image_encoder.model.'
    shapes = {
        f'{v}conv1.weight': (width, 3, patch, patch), f'{v}class_embedding': (width,),
        f'{v}positional_embedding': (grid * grid + 1, width),
        f'{v}ln_pre.weight': (width,), f'{v}ln_pre.bias': (width,),
        f'{v}ln_post.weight': (width,), f'{v}ln_post.bias': (width,), f'{v}proj': (width, embed),
    }
    for i in range(layers):
        shapes.update(_block(f'{v}transformer.resblocks.{i}.', width))
    shapes['transformer.logit_scale'] = ()
    if head == 'contrastive':
        shapes['transformer.contrastive_norm.norm_s'] = (1,)
    else:
        c = 'transformer.transformer.'
        shapes.update({f'{c}embeddings.class_embedding': (width,),
                       f'{c}embeddings.position_embedding.weight': (POSITIONS, width),
                       f'{c}embeddings.layer_norm.weight': (width,), f'{c}embeddings.layer_norm.bias': (width,)})
        shapes.update(_block(f'{c}transformer.layers.0.', width))
        shapes.update(_block(f'{c}transformer.layers.1.', width))
        shapes.update({f'{c}pooler.layer_norm.weight': (width,), f'{c}pooler.layer_norm.bias': (width,),
                       f'{c}pooler.dense.weight': (width, width)})
    if pmd:
        shapes['transformer.heads.vim.weight'] = (1, width)
    if pfr:
        half = PMD_HEADS // 2
        rec = 'transformer.heads.rec'
        shapes.update({f'{rec}.0.weight': (half, PMD_HEADS, 1, 1), f'{rec}.0.bias': (half,),
                       f'{rec}.2.weight': (1, half, 1, 1), f'{rec}.2.bias': (1,)})
    return shapes


def _random(key: str, shape: tuple[int, ...], g: torch.Generator) -> torch.Tensor:
    """Values of a plausible trained model: LayerNorm/conv weights near 1, small biases, scaled matrices."""
    noise = torch.randn(shape, generator=g)
    if key.endswith('logit_scale') or key.endswith('norm_s'):
        return 3.0 + torch.rand(shape, generator=g)
    if 'heads.rec' in key:
        return (1 + 0.2 * noise) if key.endswith('weight') else 0.1 * noise
    if ('ln_' in key or 'layer_norm' in key) and key.endswith('weight'):
        return 1 + 0.1 * noise
    if len(shape) == 1:
        return 0.1 * noise
    return noise * math.prod(shape[1:]) ** -0.5


def official_state(*, ddp: bool = True, seed: int = 0, **shape_args) -> dict[str, torch.Tensor]:
    """A random ``rice_final.pth`` state dict; ``ddp`` prefixes every key with ``module.`` as the official
    DDP training saves it. ``shape_args`` go to :func:`official_shapes`."""
    g = torch.Generator().manual_seed(seed)
    state = {key: _random(key, shape, g) for key, shape in official_shapes(**shape_args).items()}
    return {f'module.{k}': t for k, t in state.items()} if ddp else state


# ----------------------------------------------------------------------------- reference forward
def _ln(x, s, p, eps):
    return F.layer_norm(x, x.shape[-1:], s[f'{p}.weight'], s[f'{p}.bias'], eps)


def _attention(q_in, kv_in, s, p, heads, key_mask=None):
    """Packed-projection attention; returns ``(out, probs (n, h, Lq, Lk))``."""
    w, b = s[f'{p}.in_proj_weight'], s[f'{p}.in_proj_bias']
    width = q_in.shape[-1]
    d = width // heads
    q, k, v = (F.linear(x, w[i * width:(i + 1) * width], b[i * width:(i + 1) * width])
               for i, x in enumerate((q_in, kv_in, kv_in)))
    n = q.shape[0]
    q, k, v = (x.view(n, -1, heads, d).transpose(1, 2) for x in (q, k, v))
    logits = (q * d ** -0.5) @ k.transpose(-1, -2)
    if key_mask is not None:  # prepare_4d_attention_mask: finfo.min added on masked keys
        logits = logits + (~key_mask[:, None, None, :]).to(logits.dtype) * torch.finfo(logits.dtype).min
    probs = logits.softmax(-1)
    out = (probs @ v).transpose(1, 2).reshape(n, -1, width)
    return F.linear(out, s[f'{p}.out_proj.weight'], s[f'{p}.out_proj.bias']), probs


def _mlp(x, s, p):
    h = F.linear(x, s[f'{p}.c_fc.weight'], s[f'{p}.c_fc.bias'])
    return F.linear(h * torch.sigmoid(1.702 * h), s[f'{p}.c_proj.weight'], s[f'{p}.c_proj.bias'])


def bare(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k.removeprefix('module.'): v for k, v in state.items()}


def ref_visual(s: dict, images: torch.Tensor, heads: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``clip.visual`` as the official encoder calls it: ``(g (N, E), H (N, L, W))``."""
    v = 'image_encoder.model.'
    x = F.conv2d(images, s[f'{v}conv1.weight'], stride=s[f'{v}conv1.weight'].shape[-1])
    x = x.flatten(2).transpose(1, 2)
    cls = s[f'{v}class_embedding'].expand(x.shape[0], 1, -1)
    x = torch.cat([cls, x], 1) + s[f'{v}positional_embedding']
    x = _ln(x, s, f'{v}ln_pre', 1e-5)
    i = 0
    while f'{v}transformer.resblocks.{i}.ln_1.weight' in s:
        p = f'{v}transformer.resblocks.{i}'
        h = _ln(x, s, f'{p}.ln_1', 1e-5)
        x = x + _attention(h, h, s, f'{p}.attn', heads)[0]
        x = x + _mlp(_ln(x, s, f'{p}.ln_2', 1e-5), s, f'{p}.mlp')
        i += 1
    g = _ln(x[:, 0], s, f'{v}ln_post', 1e-5) @ s[f'{v}proj']
    return g, x


def ref_embeddings(s: dict, video: torch.Tensor, mask: torch.Tensor, image: torch.Tensor, heads: int) -> dict:
    """``get_feature``: normalised image and masked-mean video embeddings, plus tokens."""
    b, t = video.shape[:2]
    fg, fh = ref_visual(s, video.flatten(0, 1), heads)
    fg, fh = fg.view(b, t, -1), fh.view(b, t, *fh.shape[1:])
    ig, ih = ref_visual(s, image, heads)
    m = mask.to(fg.dtype)
    video_emb = F.normalize((fg * m[..., None]).sum(1) / m.sum(1, keepdim=True), dim=-1)
    return dict(image_emb=F.normalize(ig, dim=-1), video_emb=video_emb, image_tokens=ih, frame_tokens=fh)


def ref_icl_loss(s: dict, feats: dict) -> torch.Tensor:
    """``ContrastiveLoss`` on the scaled embeddings (one process)."""
    scale = s['transformer.contrastive_norm.norm_s'] if 'transformer.contrastive_norm.norm_s' in s \
        else s['transformer.logit_scale']
    a, b = scale * feats['video_emb'], scale * feats['image_emb']
    labels = torch.arange(a.shape[0])
    return 0.5 * (F.cross_entropy(a @ b.t(), labels) + F.cross_entropy(b @ a.t(), labels))


def ref_cross_model(s: dict, query: torch.Tensor, kv: torch.Tensor,
                    key_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``CrossModel.forward`` (embeddings skipped): ``(pooled (n, W), cross maps (n, h, L, K))``."""
    c = 'transformer.transformer.'
    p0, p1 = f'{c}transformer.layers.0', f'{c}transformer.layers.1'
    h = _ln(query, s, f'{p0}.ln_1', 1e-12)  # TF-style LayerNorm of TorchTransformerLayer
    x = query + _attention(h, h, s, f'{p0}.attn', PMD_HEADS)[0]
    x = x + _mlp(_ln(x, s, f'{p0}.ln_2', 1e-12), s, f'{p0}.mlp')
    out, probs = _attention(_ln(x, s, f'{p1}.ln_1', 1e-5), kv, s, f'{p1}.attn', PMD_HEADS, key_mask)
    x = x + out
    x = x + _mlp(_ln(x, s, f'{p1}.ln_2', 1e-5), s, f'{p1}.mlp')
    pooled = F.relu(F.linear(_ln(x, s, f'{c}pooler.layer_norm', POOLER_EPS)[:, 0], s[f'{c}pooler.dense.weight']))
    d = x.shape[-1] // PMD_HEADS
    return pooled, probs * math.sqrt(d)  # attn_weights / scale


def ref_pmd(s: dict, feats: dict, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``_forward_vim`` (one process, dropout off): ``(logits (B, 4), vim loss)``."""
    b, t, length, width = feats['frame_tokens'].shape
    video = feats['frame_tokens'].reshape(b, t * length, width)
    key_mask = mask.repeat_interleave(length, dim=1)
    corr = feats['image_emb'] @ feats['video_emb'].t()
    order = corr.sort(dim=-1, descending=True).indices.tolist()
    rows = []
    for i in range(b):
        cand = [i] + [j for j in order[i] if j != i][:3]
        pooled, _ = ref_cross_model(s, feats['image_tokens'][i].expand(4, -1, -1), video[cand], key_mask[cand])
        w = s['transformer.heads.vim.weight']
        rows.append((F.normalize(pooled, dim=-1) @ F.normalize(w, dim=-1).t()).squeeze(-1) * 10.0)
    logits = torch.stack(rows)
    return logits, -F.log_softmax(logits, dim=-1)[:, 0].mean()


def ref_pfr(s: dict, feats: dict, mask: torch.Tensor) -> torch.Tensor:
    """``_forward_rec``: reconstruct the image tokens from the positive pair's cross maps."""
    b, t, length, width = feats['frame_tokens'].shape
    video = feats['frame_tokens'].reshape(b, t * length, width)
    key_mask = mask.repeat_interleave(length, dim=1)
    _, maps = ref_cross_model(s, feats['image_tokens'], video, key_mask)
    r = 'transformer.heads.rec'
    a = F.relu(F.conv2d(maps, s[f'{r}.0.weight'], s[f'{r}.0.bias']))
    a = F.relu(F.conv2d(a, s[f'{r}.2.weight'], s[f'{r}.2.bias'])).squeeze(1).softmax(-1)  # no padding mask
    fake = a @ (video * key_mask[..., None].to(video.dtype))
    return F.mse_loss(fake, feats['image_tokens'])
