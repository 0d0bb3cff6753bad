"""CLIP's text tower (open_clip ``TextTransformer``) loaded from a local OpenAI checkpoint."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from csa_bench.registry import MODELS

#: Text-tower geometries. ``tiny`` is a CPU twin for tests (random weights).
CLIP_TEXT_ARCHS: dict[str, dict[str, int]] = {
    'ViT-B/32': dict(context_length=77, vocab_size=49408, width=512, heads=8, layers=12, embed_dim=512),
    'ViT-B/16': dict(context_length=77, vocab_size=49408, width=512, heads=8, layers=12, embed_dim=512),
    'tiny': dict(context_length=77, vocab_size=49408, width=64, heads=4, layers=2, embed_dim=32),
}

#: OpenAI key prefixes of the text tower; open_clip's ``TextTransformer`` uses the same names.
TEXT_PREFIXES = ('token_embedding.', 'positional_embedding', 'transformer.resblocks.', 'ln_final.',
                 'text_projection')


def read_clip_text_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The text-tower weights of an OpenAI CLIP checkpoint (JIT archive or state dict), fp32."""
    from plugins.encoders.openai_clip import read_clip_state_dict

    state = read_clip_state_dict(path)
    text = {k: v for k, v in state.items() if k.startswith(TEXT_PREFIXES)}
    if 'token_embedding.weight' not in text:
        raise ValueError(f'{path}: CLIP checkpoint has no text tower ("token_embedding.weight" missing)')
    return text


@MODELS.register_module()
class CLIPTextEncoder(nn.Module):
    """OpenAI CLIP text transformer: BPE tokens -> causal transformer -> EOT token -> projection.

    Built with open_clip's ``TextTransformer`` (QuickGELU, causal mask, argmax/EOT pooling) whose
    parameter names are OpenAI's (``token_embedding.weight``, ``positional_embedding``,
    ``transformer.resblocks.N.*``, ``ln_final.*``, ``text_projection``), so the checkpoint loads
    strictly without renaming. The tokenizer is open_clip's ``SimpleTokenizer``; its BPE vocabulary
    ships inside the open_clip package, so nothing is downloaded.

    ``forward(texts: Sequence[str]) -> (N, D)``: the (unnormalised) CLIP text embedding; an empty
    text gives a zero row (the official SGMN code feeds zeros for missing text). Frozen by default
    (SGMN consumes precomputed text vectors, baselines.md §11.1): no gradients, always in eval mode.

    Args:
        arch: A key of ``CLIP_TEXT_ARCHS`` or a dict with ``context_length, vocab_size, width, heads,
            layers, embed_dim``.
        pretrained: Local OpenAI CLIP checkpoint (e.g. ``ViT-B-32.pt``), or None (random init).
        frozen: Freeze the tower.
    """

    def __init__(self, arch: str | dict = 'ViT-B/32', pretrained: str | None = None, frozen: bool = True) -> None:
        super().__init__()
        from open_clip.transformer import QuickGELU, TextTransformer

        if isinstance(arch, str):
            if arch not in CLIP_TEXT_ARCHS:
                raise KeyError(f'unknown CLIP text arch {arch!r}; known: {sorted(CLIP_TEXT_ARCHS)} or a dict')
            arch = CLIP_TEXT_ARCHS[arch]
        self.arch = dict(arch)
        self.embed_dim = self.arch['embed_dim']
        self.context_length = self.arch['context_length']
        self.tower = TextTransformer(
            context_length=self.arch['context_length'], vocab_size=self.arch['vocab_size'],
            width=self.arch['width'], heads=self.arch['heads'], layers=self.arch['layers'],
            output_dim=self.arch['embed_dim'], act_layer=QuickGELU)
        if pretrained is not None:
            self.load_openai(pretrained)
        self.frozen = frozen
        if frozen:
            self.tower.requires_grad_(False)

    def load_openai(self, path: str | Path) -> None:
        """Load the text tower of an OpenAI CLIP checkpoint strictly; errors name the file and keys."""
        state = read_clip_text_state_dict(path)
        own = {k: v for k, v in self.tower.state_dict().items() if k != 'attn_mask'}
        missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
        if missing or unexpected:
            raise ValueError(f'{path}: CLIP text keys do not match arch {self.arch}: missing {missing[:8]}, '
                             f'unexpected {unexpected[:8]}')
        bad = [f'{k}: file {tuple(v.shape)} vs model {tuple(own[k].shape)}' for k, v in state.items()
               if v.shape != own[k].shape]
        if bad:
            raise ValueError(f'{path}: CLIP text weight shapes do not match arch {self.arch}: {bad[:5]}')
        self.tower.load_state_dict(state, strict=False)  # attn_mask is a buffer built from the arch

    def train(self, mode: bool = True) -> CLIPTextEncoder:
        """A frozen tower stays in eval mode (its outputs stand for precomputed vectors)."""
        super().train(mode and not self.frozen)
        return self

    def tokenize(self, texts: Sequence[str]) -> torch.Tensor:
        """BPE token ids ``(N, context_length)`` (truncated, EOT kept), on the module's device."""
        from open_clip.tokenizer import tokenize

        return tokenize(list(texts), context_length=self.context_length).to(self.tower.token_embedding.weight.device)

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        """Embed ``N`` strings into ``(N, D)`` (zero rows for empty texts)."""
        if isinstance(texts, str):
            raise TypeError('CLIPTextEncoder takes a sequence of strings, not one string')
        texts = [str(t) for t in texts]
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            emb = self.tower(self.tokenize(texts))
        present = torch.tensor([bool(t.strip()) for t in texts], device=emb.device)
        return emb * present[:, None].to(emb.dtype)

    def extra_repr(self) -> str:
        return f'arch={self.arch}, frozen={self.frozen}'
