"""The CLIP4Clip-era (V1) checkpoint importer: strict mapping and forward equality with the V1 model."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from csa_bench.registry import CHECKPOINT_CONVERTERS, MODELS
from plugins.csa.official_clip4clip import ConversionError, RiceClip4ClipConverter

from . import v1_reference as ref

ROWS = ('icl', 'pmd', 'pfr')
REPO = Path(__file__).resolve().parents[2]


def build(cfg: dict) -> torch.nn.Module:
    with DefaultScope.overwrite_default_scope('csa_bench'):
        return MODELS.build(cfg)


def converted(row: str, fp16: bool = False, seed: int = 0) -> tuple[torch.nn.Module, dict]:
    state = ref.official_state(row, seed=seed)
    model = build(ref.tiny_v1_model_cfg(row, fp16=fp16))
    result = RiceClip4ClipConverter().convert(state, model)
    model.load_state_dict(result.state_dict, strict=True)
    return model.eval(), state


def inputs(b: int = 4, t: int = 3, seed: int = 1) -> dict:
    g = torch.Generator().manual_seed(seed)
    mask = torch.tensor([[1, 1, 1], [1, 0, 0], [1, 1, 0], [1, 1, 1]], dtype=torch.bool)[:b, :t]
    video = torch.randn(b, t, 3, 64, 64, generator=g) * mask[:, :, None, None, None]
    return dict(video=video, frame_mask=mask, video_index=torch.arange(b), image=torch.randn(b, 3, 64, 64, generator=g),
                image_index=torch.arange(b))


def test_registered_under_its_name_and_matches_only_v1_files() -> None:
    conv = CHECKPOINT_CONVERTERS.get('rice-clip4clip')()
    assert conv.name == 'rice-clip4clip'
    assert conv.matches(ref.official_state('icl'))
    mmf_like = {'module.image_encoder.model.visual.conv1.weight': torch.zeros(1), 'module.transformer.logit_scale':
                torch.zeros(())}
    assert not conv.matches(mmf_like)
    with pytest.raises(ConversionError, match='not a CLIP4Clip-era'):
        conv.convert(mmf_like, build(ref.tiny_v1_model_cfg('icl')))


@pytest.mark.parametrize('row', ROWS)
def test_every_key_mapped_or_dropped_with_a_reason(row: str) -> None:
    state = ref.official_state(row)
    model = build(ref.tiny_v1_model_cfg(row, fp16=True))
    result = RiceClip4ClipConverter().convert(state, model)
    assert set(result.state_dict) == set(model.state_dict())
    text = {k for k in state if k.startswith('clip.') and not k.startswith('clip.visual.')}
    assert set(result.dropped) == text and all(result.dropped.values())
    # Every other official tensor lands somewhere: the mapped values are exactly those tensors.
    used = len(state) - len(result.dropped)
    qkv = 6 if row != 'icl' else 0  # q/k/v weight+bias fuse into the packed in-projection (2 keys)
    assert used - qkv + (2 if qkv else 0) + 1 == len(result.state_dict)  # +1: the fixed ICL scale
    ours = result.state_dict
    torch.testing.assert_close(ours['encoder.proj.weight'], state['clip.visual.proj'].t())
    assert ours['encoder.proj.weight'].dtype == torch.float16  # the fp16 config keeps CLIP's fp16
    if row != 'icl':
        a = 'cross.transformer.cross_attention.attn.'
        torch.testing.assert_close(ours['losses.1.decoder.cross_block.attn.in_proj_weight'],
                                   torch.cat([state[a + n + '.weight'] for n in ('query', 'key', 'value')]))
    if row == 'pfr':
        torch.testing.assert_close(ours['losses.2.attn_head.2.bias'], state['recons_weights.conv.2.bias'])
    assert any('logit_scale' in n for n in result.notes)


@pytest.mark.parametrize('row', ROWS)
def test_unknown_missing_and_misshapen_keys_are_refused(row: str) -> None:
    model = build(ref.tiny_v1_model_cfg(row))
    conv = RiceClip4ClipConverter()
    state = ref.official_state(row)
    with pytest.raises(ConversionError, match='not a key'):
        conv.convert({**state, 'extra_head.weight': torch.zeros(2)}, model)
    missing = dict(state)
    missing.pop('clip.visual.ln_post.bias')
    with pytest.raises(ConversionError, match='without a value'):
        conv.convert(missing, model)
    bad = dict(state)
    bad['clip.visual.ln_pre.weight'] = torch.ones(7)
    with pytest.raises(ConversionError, match='shape mismatch'):
        conv.convert(bad, model)
    if row != 'icl':
        second = {k.replace('resblocks.0.', 'resblocks.1.'): v for k, v in state.items()
                  if k.startswith('cross.transformer.resblocks.0.')}
        with pytest.raises(ConversionError, match='one self block'):
            conv.convert({**state, **second}, model)
        no_q = {k: v for k, v in state.items() if 'attn.query.' not in k}
        with pytest.raises(ConversionError, match='query'):
            conv.convert(no_q, model)


def test_row_mismatch_and_v2_options_are_refused() -> None:
    conv = RiceClip4ClipConverter()
    with pytest.raises(ConversionError, match='no PMDLoss'):
        conv.convert(ref.official_state('pmd'), build(ref.tiny_v1_model_cfg('icl')))
    with pytest.raises(ConversionError, match='no PFRLoss'):
        conv.convert(ref.official_state('pfr'), build(ref.tiny_v1_model_cfg('pmd')))
    with pytest.raises(ConversionError, match='without a value'):  # a +PMD config needs the cross.* keys
        conv.convert(ref.official_state('icl'), build(ref.tiny_v1_model_cfg('pmd')))
    v2_icl = ref.tiny_v1_model_cfg('icl')
    v2_icl['losses'][0].update(scale_init=4.0, learnable_scale=True)
    with pytest.raises(ConversionError, match='fixed 100'):
        conv.convert(ref.official_state('icl'), build(v2_icl))
    v2_pmd = ref.tiny_v1_model_cfg('pmd')
    v2_pmd['losses'][1].update(cross_out_proj=True)  # the V2 cross block has an output projection
    with pytest.raises(ConversionError, match='without a value'):
        conv.convert(ref.official_state('pmd'), build(v2_pmd))


@pytest.mark.parametrize('row', ROWS)
def test_forward_equals_the_v1_statement(row: str) -> None:
    """fp32 run of the converted model vs the plain-torch V1 forward on the same official weights."""
    model, state = converted(row)
    state32 = {k: v.float() for k, v in state.items()}
    x = inputs()
    with torch.no_grad():
        batch = model.embed(x)
        image_cls, _ = ref.encode_image(state32, x['image'], ref.TINY['heads'])
        frame_cls, _ = ref.encode_image(state32, x['video'].flatten(0, 1), ref.TINY['heads'])
        video_emb = ref.video_embedding(frame_cls.view(4, 3, -1), x['frame_mask'])
        torch.testing.assert_close(batch['image_emb'], image_cls / image_cls.norm(dim=-1, keepdim=True),
                                   atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(batch['video_emb'], video_emb, atol=1e-5, rtol=1e-4)
        # Losses in eval mode (every dropout off), ours through the retriever's loss path.
        ours = model.loss(x, [dict() for _ in range(4)])
        theirs = ref.v1_losses(state32, x['video'], x['frame_mask'], x['image'], row)
    for key, value in theirs.items():
        torch.testing.assert_close(ours[key], value, atol=1e-7, rtol=1e-5, msg=key)


def test_pairwise_score_and_maps_equal_the_v1_cross_model() -> None:
    model, state = converted('pmd')
    state32 = {k: v.float() for k, v in state.items()}
    g = torch.Generator().manual_seed(3)
    q, kv = torch.randn(3, 17, 32, generator=g), torch.randn(3, 2 * 17, 32, generator=g)
    valid = torch.ones(3, 34, dtype=torch.bool)
    valid[1, 17:] = False
    with torch.no_grad():
        score, maps = model.losses[1].decoder(q, kv, valid)
        logit, probs = ref.cross_forward(state32, q, kv, valid, 8)
    torch.testing.assert_close(score, 100.0 * logit, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(maps, probs, atol=1e-6, rtol=1e-5)


def test_fp16_encoder_matches_the_fp16_v1_statement() -> None:
    """The fp16 config (V1's precision) against the V1 forward run in fp16 with fp32 LayerNorms."""
    model, state = converted('icl', fp16=True)
    assert model.encoder.proj.weight.dtype == torch.float16
    assert model.encoder.vit.norm.weight.dtype == torch.float32
    x = inputs()
    with torch.no_grad():
        emb, tokens = model.encoder(x['image'])
        cls16, hidden16 = ref.encode_image(state, x['image'], ref.TINY['heads'], dtype=torch.float16)
        cls32, _ = ref.encode_image({k: v.float() for k, v in state.items()}, x['image'], ref.TINY['heads'])
    assert emb.dtype == tokens.dtype == torch.float32
    # fp16 rounding differs with the order of operations: a few fp16 ulps (values are O(1)).
    torch.testing.assert_close(emb, cls16, atol=5e-3, rtol=1e-2)
    torch.testing.assert_close(tokens, hidden16, atol=5e-3, rtol=1e-2)
    assert (emb - cls32).abs().max() < 2e-2  # and fp16 stays close to the fp32 run


@pytest.mark.parametrize('row', ROWS)
def test_converted_checkpoint_round_trips_through_torch_save(row: str, tmp_path) -> None:
    state = ref.official_state(row)
    model = build(ref.tiny_v1_model_cfg(row, fp16=True))
    result = RiceClip4ClipConverter().convert(state, model)
    path = tmp_path / 'converted.pth'
    torch.save({'state_dict': result.state_dict, 'meta': {'converter': 'rice-clip4clip'}}, path)
    loaded = torch.load(path, map_location='cpu', weights_only=True)['state_dict']
    fresh = build(ref.tiny_v1_model_cfg(row, fp16=True))
    fresh.load_state_dict(loaded, strict=True)
    for key, value in fresh.state_dict().items():
        assert torch.equal(value, result.state_dict[key]), key


@pytest.mark.slow
def test_shipped_pfr_config_takes_a_full_size_v1_checkpoint() -> None:
    """ViT-B/32-size random weights in the V1 layout onto the shipped +PFR config, strictly."""
    dims = dict(img=224, patch=32, width=768, layers=12, heads=12, embed=512, text_layers=12, context=77,
                vocab=64, cross_heads=8)
    cfg = Config.fromfile(str(REPO / 'configs/rice/rice-v1-icl-pmd-pfr_clipvit-b32_10f_2xb48-1ep_lpr4m.py'))
    model_cfg = cfg.model.to_dict()
    model_cfg['encoder']['pretrained'] = None
    model_cfg['losses'][1]['pretrained'] = None
    model = build(model_cfg)
    state = ref.official_state('pfr', dims=dims)
    result = RiceClip4ClipConverter().convert(state, model)
    model.load_state_dict(result.state_dict, strict=True)
    assert model.encoder.vit.blocks[0].attn.qkv.weight.dtype == torch.float16
    assert model.losses[1].decoder.query_pos.weight.shape == (77, 512)


# ------------------------------------------------------------------- end to end: convert, then test
TINY_CONFIG = Path(__file__).resolve().parent / 'configs' / 'rice-v1-icl-pmd-pfr_clipvit-tiny_10f_synthetic-lpr4m.py'


def v1_embedding_eval(root: Path, state: dict, size: int = 64, num_frame: int = 10) -> dict[str, float]:
    """The V1 ``lpr4m_embedding_eval.py --embedding_sim`` procedure, restated (fp32 weights).

    Gallery: per live folder, names ending in ``-0.jpg`` sorted, id = name minus its last dash field.
    Query: every folder under ``query/``, ``.jpg`` names sorted, ``linspace(0, n, 10, endpoint=False)``
    when n > 10; cv2 decoding, PIL bicubic squash, ToTensor + CLIP Normalize. Score = cosine, Python's
    stable descending sort, hits at 1/3/5/10 over the GT filtered to predicted queries.
    """
    import json

    import cv2
    import numpy as np
    from PIL import Image

    mean = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(3, 1, 1)
    std = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(3, 1, 1)

    def pixels(path: Path) -> torch.Tensor:
        rgb = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        img = Image.fromarray(rgb).convert('RGB').resize((size, size), Image.Resampling.BICUBIC)
        return (torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1).float() / 255 - mean) / std

    heads = ref.TINY['heads']
    gallery = {}
    for live in os.listdir(root / 'gallery'):
        names = sorted(n for n in os.listdir(root / 'gallery' / live) if n.endswith('-0.jpg'))
        cls, _ = ref.encode_image(state, torch.stack([pixels(root / 'gallery' / live / n) for n in names]), heads)
        gallery[live] = ([n[: -len('.jpg')].rsplit('-', 1)[0] for n in names], cls / cls.norm(dim=-1, keepdim=True))
    pred = {}
    for clip_id in os.listdir(root / 'query'):
        frames = sorted(n for n in os.listdir(root / 'query' / clip_id) if n.endswith('.jpg'))
        if len(frames) > num_frame:
            frames = [frames[i] for i in np.linspace(0, len(frames), num=num_frame, endpoint=False, dtype=int)]
        cls, _ = ref.encode_image(state, torch.stack([pixels(root / 'query' / clip_id / n) for n in frames]), heads)
        video = ref.video_embedding(cls[None], torch.ones(1, len(frames), dtype=torch.bool))[0]
        names, g = gallery['-'.join(clip_id.split('-')[:5])]
        sims = (g @ video).tolist()
        ranked = [n for n, _ in sorted(zip(names, sims, strict=True), key=lambda x: x[1], reverse=True)]
        pred['-'.join(frames[0].split('-')[:-1])] = ranked
    gt_path = next((root / 'annotations').glob('test_videoid_to_gtimage_*.json'))
    gt = {k: v for k, v in json.loads(gt_path.read_text()).items() if k in pred}
    out = {}
    for k in (1, 3, 5, 10):
        hits = sum(any(p in gt[q] for p in pred[q][:k]) for q in gt)
        out[f'R@{k}'] = 100.0 * hits / len(gt)
    return out


@pytest.mark.slow
def test_converted_v1_checkpoint_evaluates_like_the_v1_eval_script(use_synthetic_data, tmp_path) -> None:
    from csa_bench.engine import api

    cfg = Config.fromfile(str(TINY_CONFIG))
    state = ref.official_state('pfr', seed=7)
    model = build(cfg.model.to_dict())
    result = RiceClip4ClipConverter().convert(state, model)
    ckpt = tmp_path / 'converted.pth'
    torch.save({'meta': {'converter': 'rice-clip4clip'}, 'state_dict': result.state_dict}, ckpt)
    # fp32 for an exact comparison of rankings; the fp16 run below is the V1 precision.
    outcome = api.test(str(TINY_CONFIG), str(ckpt), work_dir=str(tmp_path / 'fp32'),
                       cfg_options={'model.encoder.fp16': False})
    expected = v1_embedding_eval(use_synthetic_data / 'synthetic-lpr4m', {k: v.float() for k, v in state.items()})
    assert 0 < expected['R@1'] < expected['R@10'] <= 100  # a random model: neither empty nor saturated
    for key, value in expected.items():
        assert outcome.metrics[key] == pytest.approx(value, abs=1e-6), key
    fp16 = api.test(str(TINY_CONFIG), str(ckpt), work_dir=str(tmp_path / 'fp16'))
    assert abs(fp16.metrics['R@10'] - expected['R@10']) <= 100.0 / 3  # fp16 may only reorder near-ties


@pytest.mark.parametrize('row', ROWS)
def test_the_core_dispatch_finds_and_validates_this_converter(row: str) -> None:
    """Through the core's converter framework (csa_bench/checkpoints), when this core has it."""
    checkpoints = pytest.importorskip('csa_bench.checkpoints')
    model = build(ref.tiny_v1_model_cfg(row, fp16=True))
    state = {f'module.{k}': v for k, v in ref.official_state(row).items()}  # as saved from DDP
    name, result = checkpoints.convert_state(state, model)
    assert name == 'rice-clip4clip' and result.dropped
    model.load_state_dict(result.state_dict, strict=True)
