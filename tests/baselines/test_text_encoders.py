"""Text encoders: the CLIP text tower against open_clip's reference forward; the hashed bag of words."""
from __future__ import annotations

import pytest
import torch

from csa_bench.registry import MODELS

TINY_TEXT = dict(context_length=77, vocab_size=49408, width=64, heads=4, layers=2, embed_dim=32)


@pytest.fixture(scope='module')
def clip_checkpoint(tmp_path_factory) -> tuple[str, torch.nn.Module]:
    """A random-weight CLIP in the OpenAI key layout (open_clip's CLIP class), saved as a state dict."""
    from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg

    torch.manual_seed(0)
    ref = CLIP(embed_dim=32, quick_gelu=True,
               vision_cfg=CLIPVisionCfg(layers=1, width=64, patch_size=16, image_size=32),
               text_cfg=CLIPTextCfg(context_length=77, vocab_size=49408, width=64, heads=4, layers=2)).eval()
    path = tmp_path_factory.mktemp('clip') / 'ViT-tiny.pt'
    torch.save(ref.state_dict(), path)
    return str(path), ref


def test_clip_text_encoder_matches_open_clip(clip_checkpoint) -> None:
    from open_clip.tokenizer import tokenize

    path, ref = clip_checkpoint
    enc = MODELS.build(dict(type='CLIPTextEncoder', arch=TINY_TEXT, pretrained=path))
    texts = ['a red cotton shirt with long sleeves', 'blue denim jeans', '']
    with torch.no_grad():
        expected = ref.encode_text(tokenize(texts))
    out = enc(texts)
    assert out.shape == (3, 32)
    torch.testing.assert_close(out[:2], expected[:2], rtol=1e-5, atol=1e-5)
    assert (out[2] == 0).all()  # no text -> zero vector (visual-only, as SGMN on MovingFashion)


def test_clip_text_encoder_is_frozen_and_stays_in_eval(clip_checkpoint) -> None:
    enc = MODELS.build(dict(type='CLIPTextEncoder', arch=TINY_TEXT, pretrained=clip_checkpoint[0]))
    enc.train()
    assert not enc.training and not any(p.requires_grad for p in enc.parameters())
    assert not enc(['some words']).requires_grad


def test_clip_text_encoder_rejects_a_wrong_arch(clip_checkpoint, tmp_path) -> None:
    wrong = dict(TINY_TEXT, layers=3)
    with pytest.raises(ValueError, match='ViT-tiny.pt'):
        MODELS.build(dict(type='CLIPTextEncoder', arch=wrong, pretrained=clip_checkpoint[0]))
    torch.save({'visual.class_embedding': torch.zeros(4)}, tmp_path / 'vision_only.pt')
    with pytest.raises(ValueError, match='no text tower'):
        MODELS.build(dict(type='CLIPTextEncoder', arch=TINY_TEXT, pretrained=str(tmp_path / 'vision_only.pt')))


def test_hashed_bag_of_words_is_deterministic_and_word_based() -> None:
    a = MODELS.build(dict(type='HashedBagOfWordsTextEncoder', embed_dim=16, seed=3))
    b = MODELS.build(dict(type='HashedBagOfWordsTextEncoder', embed_dim=16, seed=3))
    texts = ['Red Shirt', 'shirt red', 'green hat', '', '  ,;  ']
    out = a(texts)
    torch.testing.assert_close(out, b(texts))
    torch.testing.assert_close(out[0], out[1])  # case- and order-free
    assert (out[3] == 0).all() and (out[4] == 0).all()
    cos = torch.nn.functional.cosine_similarity
    shared = cos(a(['red shirt with stripes']), a(['red shirt']))
    disjoint = cos(a(['green hat']), a(['red shirt']))
    assert shared > disjoint
    with pytest.raises(TypeError):
        a('one string')
