"""PMD: pairwise matching with ICL-mined hard negatives, a 4-way cross-entropy (method.md §5)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from csa_bench.models.distributed import all_gather_no_grad, all_gather_with_grad, world_info
from csa_bench.registry import MODELS

from ..encoders.openai_clip import read_clip_state_dict
from .decoder import PairwiseDecoder
from .icl import same_item_ids

#: Batch-dict key where PMD leaves the positive pairs' cross-attention maps for PFR.
POSITIVE_MAPS_KEY = 'pmd_positive_maps'
#: Decoder initialisations: V2 (the encoder's last two blocks), random, V1 (the CLIP text tower).
PMD_INITS = ('visual_last2', 'random', 'clip_text')


def mine_hard_negatives(image_emb: torch.Tensor, video_emb_all: torch.Tensor, positive: torch.Tensor,
                        num_negatives: int, exclude: torch.Tensor | None = None) -> torch.Tensor:
    """Image-anchored candidates ``[positive, n1, ..., nk]`` by ICL similarity, positive excluded by index.

    Args:
        image_emb: ``(B, E)`` anchors (normalised, no scale).
        video_emb_all: ``(G, E)`` gathered clip embeddings.
        positive: ``(B,)`` column of each anchor's positive in ``video_emb_all``.
        num_negatives: k (3 in V2).
        exclude: Optional ``(B, G)`` bool, other columns that may not be negatives (same product).

    Returns:
        ``(B, 1 + k)`` long column indices; column 0 is the positive.
    """
    with torch.no_grad():
        sim = image_emb.float() @ video_emb_all.float().t()  # (B, G)
        if sim.shape[1] - 1 < num_negatives:
            raise ValueError(f'PMD needs {num_negatives} negatives but the global batch has only '
                             f'{sim.shape[1]} clips; raise the batch size')
        rows = torch.arange(sim.shape[0], device=sim.device)
        sim[rows, positive] = -torch.inf
        if exclude is not None:
            sim = sim.masked_fill(exclude, -torch.inf)
        negatives = sim.topk(num_negatives, dim=1).indices
        return torch.cat([positive[:, None], negatives], dim=1)


@MODELS.register_module()
class PMDLoss(nn.Module):
    """Pairwise matching decoder loss; also the retriever's ``pairwise_scorer``.

    Reads ``image_tokens (B, L, W)``, ``frame_tokens (B, T, L, W)``, ``frame_mask (B, T)``,
    ``image_emb``/``video_emb (B, E)`` (normalised, for mining). Adds to the batch dict
    ``pmd_positive_maps (B, h, L, T·L)``: the cross block's ``A'`` of each anchor's positive pair,
    taken before dropout, hence identical to a separate positive-only pass (method.md §6.1); PFR
    reads it. Returns ``{'loss_pmd': (), 'pmd_acc': ()}``.

    Args:
        width: Token width W of the encoder's tokens (checked in ``bind_encoder``).
        num_heads: Decoder heads (8 in V2; must divide W).
        loss_weight: Multiplier of the loss.
        num_negatives: Hard negatives per anchor (3: a 4-way cross-entropy).
        chunk_anchors: Anchors per decoder pass (2: 2·4 = 8 pairs) to bound memory.
        attn_drop: Cross-attention dropout (0.1).
        score_scale: Cosine multiplier (10).
        pmd_init: ``'visual_last2'`` (self block <- encoder block -2, cross block <- block -1, V2),
            ``'random'``, or ``'clip_text'`` (V1: query positions <- CLIP text ``positional_embedding``,
            self block <- text ``resblocks.0``, read from ``pretrained``; cross block random).
        kv_norm: V1 option, see ``CrossBlock``.
        gather: Mine and score over the all-gathered global batch (explicit, style rule 7).
        mask_same_item: Never mine a clip of the anchor's own product as a negative (§11.6).
        pretrained: For ``pmd_init='clip_text'``: local path of an OpenAI CLIP checkpoint (JIT
            archive or state dict) whose text tower initialises the decoder. None leaves the
            decoder at its random init (e.g. before loading a trained checkpoint).
        **decoder_options: The V1 decoder options of ``PairwiseDecoder`` (``query_pos``,
            ``query_pos_drop``, ``cross_out_proj``, ``scale_maps``, ``pooler_bias``, ``pooler_act``,
            ``score``, ``ln_eps``); docs/method_v1.md lists the V1 values.
    """

    #: PairwiseDecoder keyword options PMDLoss forwards.
    DECODER_OPTIONS = ('pooler_eps', 'query_pos', 'query_pos_drop', 'cross_out_proj', 'scale_maps', 'pooler_bias',
                       'pooler_act', 'score', 'ln_eps')

    def __init__(self, width: int, num_heads: int = 8, loss_weight: float = 1.0, num_negatives: int = 3,
                 chunk_anchors: int = 2, attn_drop: float = 0.1, score_scale: float = 10.0,
                 pmd_init: str = 'visual_last2', kv_norm: bool = False, gather: bool = True,
                 mask_same_item: bool = False, pretrained: str | None = None, **decoder_options) -> None:
        super().__init__()
        if pmd_init not in PMD_INITS:
            raise ValueError(f'pmd_init must be one of {PMD_INITS}, got {pmd_init!r}')
        unknown = sorted(set(decoder_options) - set(self.DECODER_OPTIONS))
        if unknown:
            raise TypeError(f'PMDLoss got unknown options {unknown}; decoder options: {list(self.DECODER_OPTIONS)}')
        if pretrained is not None and pmd_init != 'clip_text':
            raise ValueError(f"PMDLoss pretrained={pretrained!r} is only read with pmd_init='clip_text'")
        self.decoder = PairwiseDecoder(width, num_heads, attn_drop, score_scale, kv_norm, **decoder_options)
        self.width, self.num_heads = width, num_heads
        self.loss_weight, self.num_negatives, self.chunk_anchors = loss_weight, num_negatives, chunk_anchors
        self.pmd_init, self.gather, self.mask_same_item = pmd_init, gather, mask_same_item
        if pmd_init == 'clip_text' and pretrained is not None:
            self.load_clip_text(pretrained)

    def load_clip_text(self, path: str) -> None:
        """V1 init from the text tower of the OpenAI CLIP file ``path`` (see ``read_clip_state_dict``).

        Raises:
            FileNotFoundError / ValueError: missing file, no text tower, or shapes that do not match
                (the message names the file).
        """
        state = read_clip_state_dict(path)
        prefix = 'transformer.resblocks.0.'
        block = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if 'positional_embedding' not in state or not block:
            raise ValueError(f'{path}: no CLIP text tower (positional_embedding, {prefix}*) to initialise PMD from')
        try:
            self.decoder.load_clip_text(state['positional_embedding'], block)
        except (RuntimeError, ValueError) as exc:
            raise ValueError(f'{path}: CLIP text tower does not fit the PMD decoder: {exc}') from None

    def bind_encoder(self, encoder: nn.Module) -> None:
        """Check the token width and, for ``visual_last2``, copy the encoder's last two blocks."""
        width = getattr(encoder, 'width', None)
        if width != self.width:
            raise ValueError(f'PMDLoss(width={self.width}) does not match the encoder token width {width}')
        if self.pmd_init != 'visual_last2':
            return
        if getattr(encoder, 'token_source', 'hidden') != 'hidden' or not hasattr(encoder, 'openai_block_state_dict'):
            raise ValueError("pmd_init='visual_last2' needs a CLIPViTEncoder with token_source='hidden'; "
                             "use pmd_init='random' otherwise")
        if getattr(encoder, 'num_layers', 0) < 2:
            raise ValueError(f"pmd_init='visual_last2' needs >= 2 encoder blocks, the encoder has "
                             f"{getattr(encoder, 'num_layers', 0)}; use pmd_init='random'")
        self.decoder.load_clip_blocks(encoder.openai_block_state_dict(-2), encoder.openai_block_state_dict(-1))

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        """See the class docstring for the batch keys read/added and the dict returned."""
        image_tokens, frame_tokens, frame_mask = batch['image_tokens'], batch['frame_tokens'], batch['frame_mask']
        b, t, length, width = frame_tokens.shape
        rank, world = world_info() if self.gather else (0, 1)
        key_mask = frame_mask.repeat_interleave(length, dim=1)  # (B, T·L)
        video_all = frame_tokens.reshape(b, t * length, width)
        mask_all, emb_all = key_mask, batch['video_emb']
        if self.gather and world > 1:
            video_all = all_gather_with_grad(video_all)  # (G, T·L, W), gradients flow back (§5)
            mask_all = all_gather_no_grad(key_mask)
            emb_all = all_gather_no_grad(batch['video_emb'].detach())
        positive = torch.arange(b, device=frame_tokens.device) + rank * b
        exclude = None
        if self.mask_same_item:
            ids = same_item_ids(batch)
            exclude = ids[:, None] == (all_gather_no_grad(ids) if self.gather and world > 1 else ids)[None]
        candidates = mine_hard_negatives(batch['image_emb'].detach(), emb_all.detach(), positive,
                                         self.num_negatives, exclude)
        s = candidates.shape[1]
        scores, maps = [], []
        for start in range(0, b, self.chunk_anchors):
            cand = candidates[start:start + self.chunk_anchors]  # (c, S)
            c = cand.shape[0]
            query = image_tokens[start:start + c].repeat_interleave(s, dim=0)  # each anchor S times
            score, attn = self.decoder(query, video_all[cand.flatten()], mask_all[cand.flatten()])
            scores.append(score.view(c, s))
            maps.append(attn.view(c, s, *attn.shape[1:])[:, 0])
        logits = torch.cat(scores)  # (B, S), positive in column 0
        batch[POSITIVE_MAPS_KEY] = torch.cat(maps)
        target = logits.new_zeros(b, dtype=torch.long)
        loss = F.cross_entropy(logits, target)
        acc = (logits.detach().argmax(dim=1) == 0).float().mean()
        return {'loss_pmd': self.loss_weight * loss, 'pmd_acc': acc}

    @torch.no_grad()
    def score_pairs(self, query_state: dict[str, torch.Tensor],
                    gallery_state: dict[str, torch.Tensor]) -> torch.Tensor:
        """Re-ranking score (``10·cos(p, w)`` in V2) of ``n`` (clip, shop image) pairs (a csa_bench addition).

        Args:
            query_state: ``{'tokens': (n, T, L, W), 'frame_mask': (n, T)}`` (the retriever's clip state).
            gallery_state: ``{'tokens': (n, L, W)}`` (the shop image's state).

        Returns:
            ``(n,)`` scores; dropout is off whatever the module's mode.
        """
        tokens, mask = query_state['tokens'], query_state['frame_mask'].bool()
        n, t, length, width = tokens.shape
        was_training = self.decoder.training
        self.decoder.eval()
        try:
            out = []
            for start in range(0, n, self.chunk_anchors * (self.num_negatives + 1)):
                end = start + self.chunk_anchors * (self.num_negatives + 1)
                score, _ = self.decoder(gallery_state['tokens'][start:end],
                                        tokens[start:end].reshape(-1, t * length, width),
                                        mask[start:end].repeat_interleave(length, dim=1))
                out.append(score)
            return torch.cat(out)
        finally:
            self.decoder.train(was_training)

    def extra_repr(self) -> str:
        return (f'loss_weight={self.loss_weight}, num_negatives={self.num_negatives}, '
                f'chunk_anchors={self.chunk_anchors}, pmd_init={self.pmd_init!r}, gather={self.gather}')
