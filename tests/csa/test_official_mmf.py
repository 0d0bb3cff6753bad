"""The MMF-era official checkpoint (rice_final.pth) converter: strict mapping and forward equality.

Official-layout state dicts are built from our reading of the official code (official_mmf_layout.py),
at the tiny CLIP of the synthetic configs; the converted model must compute what the official
forward computes on the same weights.
"""
from __future__ import annotations

import re

import pytest
import torch
from mmengine.config import Config

from csa_bench.checkpoints import ConversionError, convert_state, maybe_convert_official, peek_official
from csa_bench.checkpoints.files import build_model, convert_file, read_state_file

from . import official_mmf_layout as ref

TINY = 'configs/rice/rice-{row}_clipvit-tiny_4f_1xb16-1000it_synthetic-{data}.py'
ROWS = {'icl': dict(), 'icl-pmd': dict(pmd=True), 'icl-pmd-pfr': dict(pmd=True, pfr=True)}


def tiny_model(row: str, data: str = 'lpr4m'):
    return build_model(Config.fromfile(TINY.format(row=row, data=data)))


def inputs(b: int = 4, t: int = 4, padded: bool = True, seed: int = 1) -> dict:
    """Random normalised pixels for ``b`` clips of ``t`` frames of 64 px and ``b`` shop images."""
    g = torch.Generator().manual_seed(seed)
    mask = torch.ones(b, t, dtype=torch.bool)
    if padded:
        for i in range(b):
            mask[i, 1 + i % t:] = False
    video = torch.randn(b, t, 3, 64, 64, generator=g) * mask[..., None, None, None]
    return dict(video=video, frame_mask=mask, image=torch.randn(b, 3, 64, 64, generator=g))


# The contrastive head exists only for the ICL row (the official LPR4M ICL config).
@pytest.mark.parametrize('row, head', [('icl', 'pretraining'), ('icl', 'contrastive'), ('icl-pmd', 'pretraining'),
                                       ('icl-pmd-pfr', 'pretraining')])
def test_every_row_converts_strictly(row: str, head: str) -> None:
    state = ref.official_state(head=head, **ROWS[row])
    model = tiny_model(row)
    name, result = convert_state(state, model)
    assert name == 'rice-mmf'
    assert set(result.state_dict) == set(model.state_dict())
    model.load_state_dict(result.state_dict, strict=True)
    dropped = set(result.dropped)
    if head == 'contrastive':
        assert dropped == {'transformer.logit_scale'}
        assert model.losses[0].logit_scale.item() == state['module.transformer.contrastive_norm.norm_s'].item()
    else:
        assert model.losses[0].logit_scale.item() == state['module.transformer.logit_scale'].item()
        cross = {k.removeprefix('module.') for k in state if k.startswith('module.transformer.transformer.')}
        embeddings = {k for k in cross if '.embeddings.' in k}
        # ICL-only pretraining row: the whole (untrained) cross model is dropped; else only its embeddings.
        assert dropped == (cross if row == 'icl' else embeddings)
    assert all(reason.strip() for reason in result.dropped.values())
    assert any('DDP prefix' in note for note in result.notes)


@pytest.mark.parametrize('row', sorted(ROWS))
@pytest.mark.parametrize('data', ['lpr4m', 'movingfashion'])
def test_shipped_vit_b32_configs_take_the_released_layout(row: str, data: str) -> None:
    """Every released file (ViT-B/32 shapes; LPR4M ICL = contrastive head) maps onto its shipped config.

    Shapes only: the model is built on the meta device, the official tensors are empty meta tensors.
    """
    head = 'contrastive' if (row, data) == ('icl', 'lpr4m') else 'pretraining'
    shapes = ref.official_shapes(width=768, layers=12, patch=32, grid=7, embed=512, head=head, **ROWS[row])
    state = {f'module.{key}': torch.empty(shape, device='meta') for key, shape in shapes.items()}
    with torch.device('meta'):
        model = build_model(Config.fromfile(f'configs/rice/rice-{row}_clipvit-b32_10f_4xb24-5k_{data}.py'))
    name, result = convert_state(state, model)
    assert name == 'rice-mmf' and set(result.state_dict) == set(model.state_dict())
    assert len([k for k in result.state_dict if k.startswith('encoder.')]) == 12 * 12 + 8


def test_visual_tower_keys_land_where_the_encoder_reads_them() -> None:
    state = ref.bare(ref.official_state())
    model = tiny_model('icl')
    _, result = convert_state(state, model)
    v = 'image_encoder.model.'
    sd = result.state_dict
    torch.testing.assert_close(sd['encoder.proj.weight'], state[f'{v}proj'].t())
    torch.testing.assert_close(sd['encoder.vit.cls_token'].flatten(), state[f'{v}class_embedding'])
    torch.testing.assert_close(sd['encoder.vit.blocks.1.attn.qkv.weight'],
                               state[f'{v}transformer.resblocks.1.attn.in_proj_weight'])
    torch.testing.assert_close(sd['encoder.vit.blocks.0.mlp.fc2.bias'],
                               state[f'{v}transformer.resblocks.0.mlp.c_proj.bias'])


@pytest.mark.parametrize('edit, message', [
    (lambda s: s.update({'module.transformer.heads.mystery.weight': torch.zeros(3)}), 'neither mapped nor dropped'),
    (lambda s: s.pop('module.image_encoder.model.transformer.resblocks.1.ln_2.bias'), 'no official counterpart'),
    (lambda s: s.update({'module.image_encoder.model.positional_embedding': torch.zeros(50, 64)}),
     'shape mismatch: official image_encoder.model.positional_embedding (50, 64) (= (1, 50, 64) in our layout) '
     'vs model encoder.vit.pos_embed (1, 17, 64)'),
    (lambda s: s.pop('module.transformer.heads.rec.2.bias'), 'no official counterpart'),
])
def test_conversion_is_strict(edit, message: str) -> None:
    state = ref.official_state(pmd=True, pfr=True)
    edit(state)
    with pytest.raises(ConversionError, match=re.escape(message)):
        convert_state(state, tiny_model('icl-pmd-pfr'))


@pytest.mark.parametrize('ckpt_row, config_row', [('icl-pmd', 'icl'), ('icl', 'icl-pmd'), ('icl-pmd-pfr', 'icl-pmd'),
                                                  ('icl-pmd', 'icl-pmd-pfr')])
def test_row_must_match_the_config(ckpt_row: str, config_row: str) -> None:
    row = ckpt_row.upper().replace('-', '+')
    with pytest.raises(ConversionError, match=re.escape(f'checkpoint is the {row} row')):
        convert_state(ref.official_state(**ROWS[ckpt_row]), tiny_model(config_row))


def test_unknown_layout_lists_the_known_ones() -> None:
    with pytest.raises(ConversionError, match='no known official layout.*rice-mmf'):
        convert_state({'clip.visual.conv1.weight': torch.zeros(1)}, tiny_model('icl'))


def test_files_that_need_unpickling_are_refused(tmp_path) -> None:
    path = tmp_path / 'rice_final.pth'
    torch.save({'module.transformer.logit_scale': torch.zeros(()), 'extra': ConversionError('x')}, path)
    with pytest.raises(ConversionError, match='refusing to unpickle'):
        read_state_file(path)
    assert peek_official(path) is None  # left to the suite's own loader, which has its own policy


def test_peek_recognises_official_files_only(tmp_path) -> None:
    official, ours = tmp_path / 'rice_final.pth', tmp_path / 'ours.pth'
    torch.save(ref.official_state(), official)
    torch.save({'meta': {}, 'state_dict': tiny_model('icl').state_dict()}, ours)
    assert peek_official(official).converter == 'rice-mmf'
    assert peek_official(ours) is None
    model = tiny_model('icl')
    assert maybe_convert_official(ours, model) is None
    result = maybe_convert_official(official, model)  # converts and loads in place
    for key, value in result.state_dict.items():
        assert torch.equal(model.state_dict()[key], value), key


def test_convert_file_meta(tmp_path) -> None:
    src = tmp_path / 'rice_final.pth'
    torch.save(ref.official_state(head='contrastive'), src)
    cfg = Config.fromfile(TINY.format(row='icl', data='lpr4m'))
    converted = convert_file(src, cfg)
    meta = converted.checkpoint['meta']
    assert meta['converter'] == 'rice-mmf' and meta['source_name'] == 'rice_final.pth' and len(meta['sha256']) == 64
    assert meta['dropped'] == {'transformer.logit_scale': converted.result.dropped['transformer.logit_scale']}
    assert meta['config'].endswith('synthetic-lpr4m.py')


# ----------------------------------------------------------------------------- forward equality
def converted_model(row: str, head: str = 'pretraining', data: str = 'lpr4m', **model_edits):
    state = ref.official_state(head=head, **ROWS[row])
    model = tiny_model(row, data)
    for path, value in model_edits.items():
        module_path, attr = path.rsplit('.', 1)
        setattr(model.get_submodule(module_path), attr, value)
    _, result = convert_state(state, model)
    model.load_state_dict(result.state_dict, strict=True)
    return model.eval(), ref.bare(state)


@pytest.mark.parametrize('head', ['pretraining', 'contrastive'])
def test_embeddings_and_icl_equal_the_official_forward(head: str) -> None:
    model, state = converted_model('icl', head=head)
    x = inputs()
    with torch.no_grad():
        ours = model.embed(x)
        icl = model.losses[0](ours)
        official = ref.ref_embeddings(state, x['video'], x['frame_mask'], x['image'], heads=model.encoder.num_heads)
        official_loss = ref.ref_icl_loss(state, official)
    for key in ('image_emb', 'video_emb', 'image_tokens'):
        torch.testing.assert_close(ours[key], official[key], atol=1e-5, rtol=1e-5)
    real = x['frame_mask']
    torch.testing.assert_close(ours['frame_tokens'][real], official['frame_tokens'][real], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(icl['loss_icl'], official_loss, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('data', ['lpr4m', 'movingfashion'])
def test_pmd_and_pfr_equal_the_official_forward(data: str) -> None:
    model, state = converted_model('icl-pmd-pfr', data=data)
    pmd, pfr = model.losses[1], model.losses[2]
    x = inputs(padded=False)  # PFR: no padded frames, where our masked softmax and the official one agree
    with torch.no_grad():
        batch = model.embed(x)
        ours_pmd = pmd(batch)
        ours_pfr = pfr(batch)
        feats = ref.ref_embeddings(state, x['video'], x['frame_mask'], x['image'], heads=model.encoder.num_heads)
        logits, vim_loss = ref.ref_pmd(state, feats, x['frame_mask'])
        rec_loss = ref.ref_pfr(state, feats, x['frame_mask'])
    # The tiny configs weight PMD/PFR (0.3 / 0.05); the official losses are unweighted.
    torch.testing.assert_close(ours_pmd['loss_pmd'] / pmd.loss_weight, vim_loss, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours_pfr['loss_pfr'] / pfr.loss_weight, rec_loss, atol=1e-5, rtol=1e-5)
    # The scores themselves, pair by pair (positive + the 3 mined negatives).
    with torch.no_grad():
        b, t, length, width = batch['frame_tokens'].shape
        video = batch['frame_tokens'].reshape(b, t * length, width)
        key_mask = x['frame_mask'].repeat_interleave(length, dim=1)
        for i in range(b):
            order = (batch['image_emb'][i] @ batch['video_emb'].t()).argsort(descending=True).tolist()
            cand = [i] + [j for j in order if j != i][:3]
            score, _ = pmd.decoder(batch['image_tokens'][i].expand(4, -1, -1), video[cand], key_mask[cand])
            torch.testing.assert_close(score, logits[i], atol=1e-5, rtol=1e-5)


def test_padded_frames_pmd_equal_and_pfr_leak_reproduced_by_flag() -> None:
    """With padded frames PMD still agrees; PFR agrees with ``mask_padded=False`` (the official leak)."""
    model, state = converted_model('icl-pmd-pfr', **{'losses.2.mask_padded': False})
    pmd, pfr = model.losses[1], model.losses[2]
    x = inputs(padded=True)
    with torch.no_grad():
        batch = model.embed(x)
        ours_pmd, ours_pfr = pmd(batch), pfr(batch)
        feats = ref.ref_embeddings(state, x['video'], x['frame_mask'], x['image'], heads=model.encoder.num_heads)
        _, vim_loss = ref.ref_pmd(state, feats, x['frame_mask'])
        rec_loss = ref.ref_pfr(state, feats, x['frame_mask'])
    # The tiny configs weight PMD/PFR (0.3 / 0.05); the official losses are unweighted.
    torch.testing.assert_close(ours_pmd['loss_pmd'] / pmd.loss_weight, vim_loss, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours_pfr['loss_pfr'] / pfr.loss_weight, rec_loss, atol=1e-5, rtol=1e-5)
