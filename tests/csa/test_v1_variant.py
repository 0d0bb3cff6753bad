"""The V1 (CLIP4Clip-era) options one by one: decoder, PMD init, PFR, fp16 encoder, BertAdam, V1 test data."""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope
from PIL import Image

from csa_bench.registry import DATASETS, MODELS, OPTIMIZERS, TRANSFORMS
from plugins.csa.bertadam import BERT_SCHEDULES, BertAdam
from plugins.csa.decoder import PairwiseDecoder

from .rice_helpers import token_batch

V1_DECODER = dict(kv_norm=True, query_pos=12, cross_out_proj=False, scale_maps=False, pooler_bias=True,
                  pooler_act='quick_gelu', score='linear', score_scale=100.0, ln_eps=1e-12)


def build(cfg: dict):
    with DefaultScope.overwrite_default_scope('csa_bench'):
        return MODELS.build(cfg)


# ---------------------------------------------------------------------------------------- decoder
def test_defaults_are_the_v2_decoder() -> None:
    dec = PairwiseDecoder(16, 4)
    keys = set(dec.state_dict())
    assert 'cross_block.attn.out_proj.weight' in keys and 'pooler.bias' not in keys
    assert 'score_head.bias' not in keys and not any(k.startswith('query_pos') for k in keys)
    assert dec.cross_block.ln_1.eps == 1e-5 and dec.self_block.ln_1.eps == 1e-12
    assert isinstance(dec.pooler_act, torch.nn.ReLU) and dec.score_kind == 'cosine'
    # V2 maps: sqrt(d_h)·softmax, so each row sums to sqrt(4) = 2.
    _, maps = dec.eval()(torch.randn(2, 5, 16), torch.randn(2, 10, 16), torch.ones(2, 10, dtype=torch.bool))
    torch.testing.assert_close(maps.sum(-1), torch.full((2, 4, 5), 2.0))


def test_v1_decoder_structure() -> None:
    dec = PairwiseDecoder(16, 4, **V1_DECODER)
    keys = set(dec.state_dict())
    assert not any('out_proj' in k for k in keys if k.startswith('cross_block'))
    assert {'query_pos.weight', 'pooler.bias', 'score_head.bias'} <= keys
    assert all(m.eps == 1e-12 for m in dec.modules() if isinstance(m, torch.nn.LayerNorm))
    _, maps = dec.eval()(torch.randn(2, 5, 16), torch.randn(2, 10, 16), torch.ones(2, 10, dtype=torch.bool))
    torch.testing.assert_close(maps.sum(-1), torch.ones(2, 4, 5))  # raw softmax maps
    # V1 init of the score head: N(0, 0.02) weight, zero bias.
    assert dec.score_head.bias.item() == 0.0 and dec.score_head.weight.std() < 0.1


def test_query_position_embedding_is_added_before_the_self_block() -> None:
    torch.manual_seed(0)
    dec = PairwiseDecoder(16, 4, **V1_DECODER).eval()
    q, kv, mask = torch.randn(3, 5, 16), torch.randn(3, 10, 16), torch.ones(3, 10, dtype=torch.bool)
    with torch.no_grad():
        dec.query_pos.weight.normal_()
        score, _ = dec(q, kv, mask)
        pos = dec.query_pos.weight[:5].clone()
        dec.query_pos.weight.zero_()
        shifted, _ = dec(q + pos, kv, mask)
    torch.testing.assert_close(score, shifted)
    with pytest.raises(ValueError, match='exceeds query_pos'):
        dec(torch.randn(1, 13, 16), kv[:1], mask[:1])
    dec.train()  # the position dropout is active in training only
    assert dec.query_pos_drop.p == 0.1


def test_linear_score_and_quick_gelu_pooler() -> None:
    torch.manual_seed(1)
    dec = PairwiseDecoder(16, 4, **V1_DECODER).eval()
    with torch.no_grad():
        dec.score_head.bias.fill_(0.3)
        q, kv, mask = torch.randn(2, 5, 16), torch.randn(2, 10, 16), torch.ones(2, 10, dtype=torch.bool)
        x = dec.query_pos_drop(q + dec.query_pos.weight[:5])
        x = dec.self_block(x)
        x, _ = dec.cross_block(x, kv, mask)
        h = dec.pooler(dec.pooler_norm(x)[:, 0])
        pooled = h * torch.sigmoid(1.702 * h)
        expected = 100.0 * (pooled @ dec.score_head.weight[0] + 0.3)
        score, _ = dec(q, kv, mask)
    torch.testing.assert_close(score, expected)


def test_cross_block_without_output_projection_adds_the_heads_directly() -> None:
    torch.manual_seed(2)
    dec = PairwiseDecoder(8, 2, **V1_DECODER).eval()
    attn = dec.cross_block.attn
    x, kv, mask = torch.randn(1, 3, 8), torch.randn(1, 4, 8), torch.ones(1, 4, dtype=torch.bool)
    with torch.no_grad():
        out, maps = attn(x, kv, mask)
        v = F.linear(kv, attn.in_proj_weight[16:], attn.in_proj_bias[16:]).view(1, 4, 2, 4).transpose(1, 2)
        expected = (maps @ v).transpose(1, 2).reshape(1, 3, 8)
    torch.testing.assert_close(out, expected)


def test_decoder_option_errors() -> None:
    with pytest.raises(ValueError, match='score'):
        PairwiseDecoder(16, 4, score='dot')
    with pytest.raises(ValueError, match='pooler_act'):
        PairwiseDecoder(16, 4, pooler_act='gelu')
    with pytest.raises(TypeError, match='unknown options'):
        build(dict(type='PMDLoss', width=16, num_heads=4, pmd_init='random', pooler='x'))
    with pytest.raises(ValueError, match="only read with pmd_init='clip_text'"):
        build(dict(type='PMDLoss', width=16, num_heads=4, pmd_init='random', pretrained='x.pt'))


# ------------------------------------------------------------------------------- PMD text init
def _fake_clip(path: Path, text_width: int = 16, context: int = 12) -> dict:
    g = torch.Generator().manual_seed(5)
    state = {'visual.class_embedding': torch.zeros(8), 'positional_embedding': torch.randn(context, text_width,
                                                                                            generator=g)}
    shapes = {'ln_1.weight': (text_width,), 'ln_1.bias': (text_width,), 'attn.in_proj_weight': (3 * text_width,
              text_width), 'attn.in_proj_bias': (3 * text_width,), 'attn.out_proj.weight': (text_width, text_width),
              'attn.out_proj.bias': (text_width,), 'ln_2.weight': (text_width,), 'ln_2.bias': (text_width,),
              'mlp.c_fc.weight': (4 * text_width, text_width), 'mlp.c_fc.bias': (4 * text_width,),
              'mlp.c_proj.weight': (text_width, 4 * text_width), 'mlp.c_proj.bias': (text_width,)}
    for i in range(2):
        for name, shape in shapes.items():
            state[f'transformer.resblocks.{i}.{name}'] = torch.randn(*shape, generator=g).half()
    torch.save(state, path)
    return state


def test_pmd_initialised_from_the_clip_text_tower(tmp_path) -> None:
    clip = _fake_clip(tmp_path / 'clip.pt')
    torch.manual_seed(0)
    loss = build(dict(type='PMDLoss', width=16, num_heads=4, pmd_init='clip_text', pretrained=str(tmp_path / 'clip.pt'),
                      **V1_DECODER))
    dec = loss.decoder
    torch.testing.assert_close(dec.query_pos.weight, clip['positional_embedding'])
    for name, value in dec.self_block.state_dict().items():
        torch.testing.assert_close(value, clip[f'transformer.resblocks.0.{name}'].float(), msg=name)
    torch.manual_seed(0)
    random = build(dict(type='PMDLoss', width=16, num_heads=4, pmd_init='clip_text', **V1_DECODER)).decoder
    # The cross block keeps its N(0, 0.02) init (V1 loads nothing into it).
    torch.testing.assert_close(dec.cross_block.attn.in_proj_weight, random.cross_block.attn.in_proj_weight)
    assert dec.cross_block.attn.in_proj_weight.std() < 0.05


def test_pmd_text_init_errors_name_the_file(tmp_path) -> None:
    _fake_clip(tmp_path / 'wide.pt', text_width=24)
    with pytest.raises(ValueError, match='wide.pt'):
        build(dict(type='PMDLoss', width=16, num_heads=4, pmd_init='clip_text', pretrained=str(tmp_path / 'wide.pt'),
                   **V1_DECODER))
    with pytest.raises(FileNotFoundError, match='missing.pt'):
        build(dict(type='PMDLoss', width=16, num_heads=4, pmd_init='clip_text',
                   pretrained=str(tmp_path / 'missing.pt'), **V1_DECODER))
    _fake_clip(tmp_path / 'ok.pt')
    no_pos = dict(V1_DECODER, query_pos=0)
    with pytest.raises(ValueError, match='query_pos'):
        build(dict(type='PMDLoss', width=16, num_heads=4, pmd_init='clip_text', pretrained=str(tmp_path / 'ok.pt'),
                   **no_pos))


def test_pmd_v1_stores_raw_positive_maps() -> None:
    batch = token_batch(b=4, t=3, length=5, width=16)
    loss = build(dict(type='PMDLoss', width=16, num_heads=4, pmd_init='random', attn_drop=0.0, **V1_DECODER))
    out = loss(batch)
    assert torch.isfinite(out['loss_pmd'])
    maps = batch['pmd_positive_maps']
    torch.testing.assert_close(maps.sum(-1), torch.ones(4, 4, 5))


# ---------------------------------------------------------------------------------------- PFR
def test_pfr_v1_no_softmax_no_cls() -> None:
    torch.manual_seed(3)
    b, t, length, width, h = 3, 2, 5, 8, 4
    batch = token_batch(b=b, t=t, length=length, width=width)
    maps = torch.rand(b, h, length, t * length)
    batch['pmd_positive_maps'] = maps
    pfr = build(dict(type='PFRLoss', num_heads=h, loss_weight=0.05, softmax=False, drop_cls=True,
                     conv_init='default'))
    c0, c2 = pfr.attn_head[0], pfr.attn_head[2]
    assert not torch.all(c0.weight == 1)  # PyTorch's default init, not the V2 ones
    w = maps.view(b, h, length, t, length)[:, :, 1:, :, 1:].reshape(b, h, length - 1, t * (length - 1))
    r = F.relu(c2(F.relu(c0(w)))).squeeze(1)
    y = (batch['frame_tokens'] * batch['frame_mask'][..., None, None])[:, :, 1:].reshape(b, -1, width)
    expected = 0.05 * F.mse_loss(r @ y, batch['image_tokens'][:, 1:])
    torch.testing.assert_close(pfr(batch)['loss_pfr'], expected)
    # V2 defaults on the same maps: softmax over the keys, CLS kept.
    v2 = build(dict(type='PFRLoss', num_heads=h))
    r2 = v2.attention_logits(maps)
    key_mask = batch['frame_mask'].repeat_interleave(length, dim=1)
    weights = r2.masked_fill(~key_mask[:, None], -torch.inf).softmax(-1)
    values = batch['frame_tokens'].reshape(b, -1, width) * key_mask[..., None]
    torch.testing.assert_close(v2(batch)['loss_pfr'], F.mse_loss(weights @ values, batch['image_tokens']))
    with pytest.raises(ValueError, match='conv_init'):
        build(dict(type='PFRLoss', num_heads=h, conv_init='xavier'))


# ----------------------------------------------------------------------------------- fp16 encoder
def test_fp16_encoder_dtypes_and_outputs() -> None:
    torch.manual_seed(0)
    enc = build(dict(type='CLIPViTEncoder', arch='tiny', token_source='projected', frozen_stem=True, fp16=True))
    for name, param in enc.named_parameters():
        is_ln = 'norm' in name and 'attn' not in name
        if name.endswith(('cls_token', 'pos_embed')) or is_ln:
            assert param.dtype == torch.float32, name
        else:
            assert param.dtype == torch.float16, name
    # The frozen stem stays frozen through the LayerNorm swap.
    assert not enc.vit.norm_pre.weight.requires_grad and not enc.vit.patch_embed.proj.weight.requires_grad
    assert enc.vit.blocks[0].norm1.weight.requires_grad
    emb, tokens = enc(torch.randn(2, 3, 64, 64))
    assert emb.dtype == tokens.dtype == torch.float32 and tokens.shape == (2, 17, 32)
    assert torch.isfinite(tokens).all()
    # Same weights in fp32: the fp16 tower stays within fp16 rounding of it.
    torch.manual_seed(0)
    ref = build(dict(type='CLIPViTEncoder', arch='tiny', token_source='projected', frozen_stem=True))
    ref.load_state_dict({k: v.float() for k, v in enc.state_dict().items()})
    x = torch.randn(2, 3, 64, 64)
    assert (enc(x)[1] - ref(x)[1]).abs().max() < 2e-2


def test_fp16_layernorm_computes_in_fp32() -> None:
    from plugins.encoders.clip_vit import Fp32LayerNorm

    ln = Fp32LayerNorm(8, eps=1e-5)
    x = (torch.randn(3, 8) * 300).half()  # squares overflow fp16 (> 65504) if computed in half
    out = ln(x)
    assert out.dtype == torch.float16 and torch.isfinite(out).all()
    torch.testing.assert_close(out.float(), F.layer_norm(x.float(), (8,), eps=1e-5), atol=2e-3, rtol=2e-3)


def test_fp16_off_by_default() -> None:
    enc = build(dict(type='CLIPViTEncoder', arch='tiny'))
    assert all(p.dtype == torch.float32 for p in enc.parameters()) and not enc.fp16


# ---------------------------------------------------------------------------------------- BertAdam
def _oracle(params: list[list[float]], grads_seq, groups_cfg: list[dict], t_total: int, warmup: float,
            schedule: str, b1: float, b2: float, e: float, max_norm: float) -> list[list[float]]:
    """BertAdam as read from the V1 optimisation.py, element by element in Python floats."""
    sched = {'warmup_cosine': lambda x: x / warmup if x < warmup else 0.5 * (1 + math.cos(math.pi * x)),
             'warmup_linear': lambda x: x / warmup if x < warmup else max((x - 1) / (warmup - 1), 0.0),
             'warmup_constant': lambda x: x / warmup if x < warmup else 1.0}[schedule]
    p = [list(v) for v in params]
    m = [[0.0] * len(v) for v in params]
    v2 = [[0.0] * len(v) for v in params]
    for step, grads in enumerate(grads_seq):
        for i, g in enumerate(grads):
            norm = math.sqrt(sum(x * x for x in g))
            coef = max_norm / (norm + 1e-6)
            g = [x * coef for x in g] if coef < 1 else list(g)
            lr = groups_cfg[i]['lr'] * sched(step / t_total)
            for j in range(len(g)):
                m[i][j] = b1 * m[i][j] + (1 - b1) * g[j]
                v2[i][j] = b2 * v2[i][j] + (1 - b2) * g[j] * g[j]
                upd = m[i][j] / (math.sqrt(v2[i][j]) + e) + groups_cfg[i]['wd'] * p[i][j]
                p[i][j] -= lr * upd
    return p


@pytest.mark.parametrize('schedule', sorted(BERT_SCHEDULES))
def test_bertadam_matches_the_v1_update_rule(schedule: str) -> None:
    g = torch.Generator().manual_seed(0)
    init = [torch.randn(5, generator=g, dtype=torch.float64), torch.randn(3, generator=g, dtype=torch.float64)]
    grads = [[torch.randn(5, generator=g, dtype=torch.float64) * s, torch.randn(3, generator=g, dtype=torch.float64)]
             for s in (5.0, 0.1, 3.0, 0.5, 2.0, 0.2)]  # some above, some below the clip norm
    params = [torch.nn.Parameter(t.clone()) for t in init]
    groups = [dict(params=[params[0]], lr=1e-2, weight_decay=0.2), dict(params=[params[1]], lr=1e-3, weight_decay=0.0)]
    opt = BertAdam(groups, lr=1e-2, warmup=0.3, t_total=8, schedule=schedule, b1=0.9, b2=0.98, e=1e-6,
                   weight_decay=0.2, max_grad_norm=1.0)
    for step_grads in grads:
        for p, grad in zip(params, step_grads, strict=True):
            p.grad = grad.clone()
        opt.step()
    expected = _oracle([t.tolist() for t in init], [[x.tolist() for x in s] for s in grads],
                       [dict(lr=1e-2, wd=0.2), dict(lr=1e-3, wd=0.0)], 8, 0.3, schedule, 0.9, 0.98, 1e-6, 1.0)
    for p, exp in zip(params, expected, strict=True):
        torch.testing.assert_close(p.detach(), torch.tensor(exp, dtype=torch.float64), atol=1e-12, rtol=1e-10)
    assert opt.state[params[0]]['step'] == 6
    # The per-parameter clip leaves the clipped gradient in p.grad, as V1's in-place clip does.
    assert params[0].grad.norm() <= 1.0 + 1e-9


def test_bertadam_first_step_and_schedules() -> None:
    p = torch.nn.Parameter(torch.ones(3))
    opt = BertAdam([p], lr=0.1, warmup=0.1, t_total=10, schedule='warmup_linear', weight_decay=0.0)
    p.grad = torch.ones(3)
    opt.step()
    assert torch.equal(p.detach(), torch.ones(3))  # warmup factor f(0) = 0 on the first update
    assert opt.get_lr() == [pytest.approx(0.1 * BERT_SCHEDULES['warmup_linear'](0.1, 0.1))]
    assert BERT_SCHEDULES['warmup_cosine'](0.5, 0.1) == pytest.approx(0.5)  # cos of the whole progress
    assert BERT_SCHEDULES['warmup_linear'](1.5, 0.1) == 0.0
    q = torch.nn.Parameter(torch.ones(2))
    const = BertAdam([q], lr=0.1, weight_decay=0.0, max_grad_norm=-1)  # t_total -1: constant lr, no clip
    q.grad = torch.full((2,), 4.0)
    const.step()  # no bias correction: m/(sqrt(v)+e) = 0.1·4 / (sqrt(0.001)·4 + 1e-6)
    expected = 1 - 0.1 * (0.1 * 4) / (math.sqrt(0.001 * 16) + 1e-6)
    torch.testing.assert_close(q.detach(), torch.full((2,), expected))
    with pytest.raises(ValueError, match='schedule'):
        BertAdam([q], lr=0.1, schedule='cosine')
    with pytest.raises(ValueError, match='warmup'):
        BertAdam([q], lr=0.1, warmup=1.5)


def test_bertadam_v1_groups_from_the_shipped_recipe() -> None:
    """The V1 config's optim_wrapper on a tiny V1 model: LN weights decay, biases do not, 1000x for new modules."""
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper

    from . import v1_reference as ref

    cfg = Config.fromfile(str(Path(__file__).resolve().parents[2] /
                              'configs/rice/rice-v1-icl-pmd-pfr_clipvit-b32_10f_2xb48-1ep_lpr4m.py'))
    assert OPTIMIZERS.get('BertAdam') is BertAdam
    model = build(ref.tiny_v1_model_cfg('pfr'))
    with DefaultScope.overwrite_default_scope('csa_bench'):
        wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    assert isinstance(wrapper.optimizer, BertAdam)
    by_name = {n: (g['lr'], g['weight_decay']) for g in wrapper.optimizer.param_groups for n in g['param_names']}
    assert by_name['encoder.vit.blocks.0.norm1.weight'] == (3e-7, 0.2)  # LayerNorm weights decay (V1)
    assert by_name['encoder.vit.blocks.0.norm1.bias'] == (3e-7, 0.0)
    assert by_name['losses.1.decoder.pooler_norm.weight'] == pytest.approx((3e-4, 0.2))
    assert by_name['losses.1.decoder.score_head.bias'] == pytest.approx((3e-4, 0.0))
    assert by_name['losses.2.attn_head.0.weight'] == pytest.approx((3e-4, 0.2))
    assert 'encoder.vit.norm_pre.weight' not in by_name  # frozen stem
    assert wrapper.optimizer.defaults['schedule'] == 'warmup_cosine' and cfg.param_scheduler == []


# ---------------------------------------------------------------------------------- V1 test data
def _jpeg(path: Path, seed: int, size=(90, 60)) -> None:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path, quality=95)


def test_list_folder_frames_then_v1_sampling(tmp_path) -> None:
    folder = tmp_path / 'query' / 'clip-a'
    folder.mkdir(parents=True)
    names = [f'clip-a-{i:04d}.jpg' for i in range(23)]
    for name in reversed(names):
        (folder / name).write_bytes(b'x')
    (folder / 'notes.txt').write_text('x')
    (folder / 'upper.JPG').write_bytes(b'x')  # V1 keeps names ending in '.jpg' only
    listing = TRANSFORMS.build(dict(type='ListFolderFrames'))
    sample = TRANSFORMS.build(dict(type='SampleFrames', num_frames=10, mode='v1', test_mode=True))
    out = sample(listing(dict(role='query', sample_id='clip-a', frame_paths=[str(folder / names[3])])))
    assert out['frame_paths'] == [str(folder / n) for n in names]
    expected = np.linspace(0, 23, num=10, endpoint=False, dtype=int).tolist()  # V1's rule
    assert out['frame_inds'] == expected
    gallery = dict(role='gallery', img_path='x.jpg')
    assert listing(dict(gallery)) == gallery
    with pytest.raises(ValueError, match='2 folders'):
        listing(dict(role='query', sample_id='q', frame_paths=[str(folder / names[0]), str(tmp_path / 'b' / 'x.jpg')]))
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(ValueError, match='no file ending'):
        listing(dict(role='query', sample_id='q', frame_paths=[str(empty / 'x.jpg')]))


def test_pil_bicubic_squash_equals_torchvision_resize_on_pil(tmp_path) -> None:
    tv = pytest.importorskip('torchvision.transforms')
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (300, 170, 3), dtype=np.uint8)
    frames = [rng.integers(0, 256, (120, 400, 3), dtype=np.uint8) for _ in range(2)]
    out = TRANSFORMS.build(dict(type='PILResizeFrames', size=224))(dict(imgs=list(frames), img=img))
    official = tv.Compose([tv.Resize((224, 224), interpolation=tv.InterpolationMode.BICUBIC), tv.CenterCrop(224)])
    assert np.array_equal(out['img'], np.asarray(official(Image.fromarray(img))))
    for ours, frame in zip(out['imgs'], frames, strict=True):
        assert np.array_equal(ours, np.asarray(official(Image.fromarray(frame))))
    assert out['img_shape'] == (224, 224)


def test_v1_gallery_lists_main_images_sorted_by_name(synthetic_data_root) -> None:
    root = synthetic_data_root / 'synthetic-lpr4m'
    with DefaultScope.overwrite_default_scope('csa_bench'):
        ds = DATASETS.build(dict(type='LPR4MV1Dataset', data_root=str(root), split='test', test_mode=True,
                                 pipeline=[], lazy_init=False))
    gallery = [ds.get_data_info(i) for i in range(len(ds)) if ds.get_data_info(i)['role'] == 'gallery']
    expected = []
    for live in sorted(os.listdir(root / 'gallery')):
        for name in sorted(n for n in os.listdir(root / 'gallery' / live) if n.endswith('-0.jpg')):
            expected.append((live, name[:-len('-0.jpg')]))
    assert [(s['group_id'], s['item_id']) for s in gallery] == expected
    assert all(s['img_path'].endswith('-0.jpg') for s in gallery)
    with pytest.raises(ValueError, match="gallery must be 'main'"):
        DATASETS.build(dict(type='LPR4MV1Dataset', data_root=str(root), split='test', gallery='all'))


@pytest.mark.slow
def test_v1_recipe_trains_a_few_fp16_steps(use_synthetic_data, tmp_path) -> None:
    """The V1 recipe end to end on CPU: fp16 CLIP weights, BertAdam's internal schedule, no param scheduler."""
    from csa_bench.engine import api

    config = Path(__file__).resolve().parent / 'configs' / 'rice-v1-icl-pmd-pfr_clipvit-tiny_10f_synthetic-lpr4m.py'
    outcome = api.train(str(config), work_dir=str(tmp_path), cfg_options={'train_cfg.val_interval': 100})  # no val
    state = torch.load(outcome.checkpoint, map_location='cpu', weights_only=False)
    weights = state['state_dict']
    assert weights['encoder.vit.blocks.0.attn.qkv.weight'].dtype == torch.float16
    assert all(torch.isfinite(v.float()).all() for v in weights.values())
    optim = state['optimizer']['state']
    assert optim and all(s['step'] == 4 for s in optim.values())  # every trained tensor made 4 updates
