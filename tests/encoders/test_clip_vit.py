"""CLIPViTEncoder against a reference CLIP forward (open_clip, random weights in the OpenAI layout)."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from csa_bench.registry import MODELS

open_clip = pytest.importorskip('open_clip')

TINY = dict(img_size=64, patch_size=16, width=64, layers=2, heads=4, embed_dim=32)
# ViT-B/32 geometry (224 px, patch 32, width 768, 12 heads, 512-d) with 2 layers to stay fast on CPU.
B32_2L = dict(img_size=224, patch_size=32, width=768, layers=2, heads=12, embed_dim=512)


class _Wrap(nn.Module):
    """A module whose state-dict keys are OpenAI's ``visual.*`` names (like CLIP's JIT archive)."""

    def __init__(self, visual: nn.Module) -> None:
        super().__init__()
        self.visual = visual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.visual(x)


def _reference(arch: dict, seed: int = 0) -> nn.Module:
    """open_clip's CLIP visual tower (QuickGELU, OpenAI layout) with every tensor randomised."""
    from open_clip.model import CLIPVisionCfg, _build_vision_tower

    cfg = CLIPVisionCfg(layers=arch['layers'], width=arch['width'], head_width=arch['width'] // arch['heads'],
                        patch_size=arch['patch_size'], image_size=arch['img_size'])
    visual = _build_vision_tower(arch['embed_dim'], cfg, quick_gelu=True)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in visual.named_parameters():  # LN gains/biases too: a swapped key cannot pass
            is_gain = p.dim() == 1 and name.endswith('weight')
            p.copy_(torch.randn(p.shape, generator=g) * 0.05 + (1.0 if is_gain else 0.0))
    return visual.eval()


def _reference_forward(visual: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(embedding, tokens before ln_post) of the reference tower."""
    seen = {}
    handle = visual.transformer.register_forward_hook(lambda m, i, o: seen.setdefault('h', o))
    with torch.no_grad():
        emb = visual(x)
    handle.remove()
    return emb, seen['h']


def _save_plain(visual: nn.Module, path: Path) -> Path:
    state = {f'visual.{k}': v for k, v in visual.state_dict().items()}
    state['token_embedding.weight'] = torch.zeros(10, 4)  # text-tower keys are ignored
    torch.save(state, path)
    return path


def _save_jit(visual: nn.Module, path: Path, size: int) -> Path:
    traced = torch.jit.trace(_Wrap(visual), torch.randn(1, 3, size, size), check_trace=False)
    torch.jit.save(traced, str(path))
    return path


@pytest.mark.filterwarnings('ignore::torch.jit.TracerWarning', 'ignore::FutureWarning')
@pytest.mark.parametrize('fmt', ['plain', 'jit'])
def test_tiny_matches_reference_forward(tmp_path: Path, fmt: str) -> None:
    ref = _reference(TINY)
    path = (_save_plain(ref, tmp_path / 'clip.pth') if fmt == 'plain'
            else _save_jit(ref, tmp_path / 'clip.pt', TINY['img_size']))
    ours = MODELS.build(dict(type='CLIPViTEncoder', arch=TINY, pretrained=str(path))).eval()
    x = torch.randn(3, 3, 64, 64)
    emb, tokens = ours(x)
    ref_emb, ref_tokens = _reference_forward(ref, x)
    assert tokens.shape == (3, 17, 64) and emb.shape == (3, 32)
    torch.testing.assert_close(tokens, ref_tokens, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(emb, ref_emb, rtol=1e-4, atol=1e-5)


def test_vit_b32_geometry_matches_reference(tmp_path: Path) -> None:
    ref = _reference(B32_2L)
    path = _save_plain(ref, tmp_path / 'clip.pth')
    ours = MODELS.build(dict(type='CLIPViTEncoder', arch=B32_2L, pretrained=str(path))).eval()
    x = torch.randn(1, 3, 224, 224)
    emb, tokens = ours(x)
    ref_emb, ref_tokens = _reference_forward(ref, x)
    assert tokens.shape == (1, 50, 768) and emb.shape == (1, 512)
    torch.testing.assert_close(tokens, ref_tokens, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(emb, ref_emb, rtol=1e-4, atol=1e-4)


def test_projected_tokens_are_ln_post_then_proj(tmp_path: Path) -> None:
    ref = _reference(TINY)
    ours = MODELS.build(dict(type='CLIPViTEncoder', arch=TINY, token_source='projected',
                             pretrained=str(_save_plain(ref, tmp_path / 'clip.pth')))).eval()
    assert ours.width == ours.embed_dim == 32
    x = torch.randn(2, 3, 64, 64)
    emb, tokens = ours(x)
    _, hidden = _reference_forward(ref, x)
    expected = ref.ln_post(hidden) @ ref.proj
    torch.testing.assert_close(tokens, expected.detach(), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(emb, tokens[:, 0])


def test_block_export_uses_openai_names(tmp_path: Path) -> None:
    ref = _reference(TINY)
    ours = MODELS.build(dict(type='CLIPViTEncoder', arch=TINY, pretrained=str(_save_plain(ref, tmp_path / 'c.pth'))))
    exported = ours.openai_block_state_dict(-1)
    expected = ref.transformer.resblocks[1].state_dict()
    assert set(exported) == set(expected)
    for key, value in expected.items():
        torch.testing.assert_close(exported[key], value)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match='nope.pt'):
        MODELS.build(dict(type='CLIPViTEncoder', arch='tiny', pretrained=str(tmp_path / 'nope.pt')))


def test_mismatched_arch_names_the_path(tmp_path: Path) -> None:
    path = _save_plain(_reference(TINY), tmp_path / 'tiny.pth')
    wrong = dict(TINY, layers=3)
    with pytest.raises(ValueError, match='tiny.pth.*missing'):
        MODELS.build(dict(type='CLIPViTEncoder', arch=wrong, pretrained=str(path)))
    with pytest.raises(ValueError, match='tiny.pth.*shapes'):
        MODELS.build(dict(type='CLIPViTEncoder', arch=dict(TINY, embed_dim=16), pretrained=str(path)))


def test_not_a_clip_checkpoint_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / 'other.pth'
    torch.save({'weight': torch.zeros(2)}, path)
    with pytest.raises(ValueError, match='other.pth.*not an OpenAI CLIP'):
        MODELS.build(dict(type='CLIPViTEncoder', arch='tiny', pretrained=str(path)))


def test_fp16_weights_are_cast_to_fp32(tmp_path: Path) -> None:
    ref = _reference(TINY)
    state = {f'visual.{k}': v.half() for k, v in ref.state_dict().items()}
    torch.save(state, tmp_path / 'half.pth')
    ours = MODELS.build(dict(type='CLIPViTEncoder', arch=TINY, pretrained=str(tmp_path / 'half.pth')))
    assert all(p.dtype == torch.float32 for p in ours.parameters())


def test_frozen_stem_freezes_only_the_stem() -> None:
    enc = MODELS.build(dict(type='CLIPViTEncoder', arch='tiny', frozen_stem=True))
    frozen = {n for n, p in enc.named_parameters() if not p.requires_grad}
    assert frozen == {'vit.patch_embed.proj.weight', 'vit.cls_token', 'vit.pos_embed',
                      'vit.norm_pre.weight', 'vit.norm_pre.bias'}
