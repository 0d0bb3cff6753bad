"""SGMN-lite retriever: shared CLIP-geometry ViT, TDB, text branch, fusion and pairwise decoder."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from csa_bench.models.distributed import all_gather_no_grad, all_gather_with_grad
from csa_bench.models.retriever import VideoShopRetriever, build_module
from csa_bench.registry import MODELS


def masked_mean(frames: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``frames (B, T, D)`` over the real frames of ``frame_mask (B, T)``."""
    keep = frame_mask[..., None].to(frames.dtype)
    return (frames * keep).sum(1) / keep.sum(1).clamp(min=1.0)


@MODELS.register_module()
class SGMNRetriever(VideoShopRetriever):
    """SGMN (ACM MM 2024), lite; see ``baselines/sgmn/__init__.py`` and baselines.md §11.

    Batch dict (``loss`` mode; all-gathered over processes when ``gather``)::

        frame_emb (B, T, D) CLS of each frame     frame_tokens (B, T, L, D) projected tokens
        frame_graph (B, T, D) unit TDB frames      video_emb v (B, D)  image_emb g (B, D)
        asr_emb a (B, D)  title_emb c (B, D)       retrieve_logits / text_logits / cl_logits (B, B)
        fused_image_tokens (B, L, D)  fused_clip_tokens (B, T·L, D)  clip_token_mask (B, T·L)
        logit_scale (s)  pair_decoder  labels  category  data_samples  encoder

    ``predict``: a clip's embedding is ``normalize([v, √w·a])`` and an image's ``normalize([g, √w·c])``
    (``w`` = ``text_weight``): ``a`` and ``c`` are unit vectors, so the norm before normalising is
    ``√(1 + w)`` for every sample and the cosine equals ``(cos(v, g) + w·cos(a, c)) / (1 + w)``, a
    monotone map of SGMN's ``cl`` at scale 1: embedding-only ranking exactly as released
    (``--embedding_sim``).

    Args:
        encoder: Shared ViT; must emit projected tokens with CLS first (``CLIPViTEncoder``,
            ``token_source='projected'``). ``D`` = its ``embed_dim``.
        text_encoder: A ``*TextEncoder`` config (frozen): titles and ASR strings -> ``(N, Dt)``.
        tdb: ``SGMNTemporalDifferenceBlock`` config (``dim`` = D).
        fusion: ``SGMNTextFusion`` config.
        decoder: ``SGMNPairwiseDecoder`` config.
        losses: ``SGMNTextLoss``, ``SGMNTripletLoss``, ``SGMNGraphLoss``, ``SGMNPairwiseLoss``.
        logit_scale: ``s`` in training (100; 1 at eval).
        text_weight: ``w`` in ``cl = vis + w·txt`` (0.5).
        gather: All-gather over processes before the losses (the release's ``allgather``; explicit).
        decoder_at_eval: Compute the fused tokens at eval and expose the decoder as the
            ``pairwise_scorer`` (the release runs the decoder at eval even when ranking by
            embeddings; quirk ``decoder_at_eval``). Ranking stays embedding-only unless the metric's
            ``rerank`` is set.
        **kwargs: Other ``VideoShopRetriever`` arguments.
    """

    def __init__(self, encoder: dict | nn.Module, text_encoder: dict | nn.Module, tdb: dict | nn.Module,
                 fusion: dict | nn.Module, decoder: dict | nn.Module, losses: list[dict | nn.Module] | None = None,
                 logit_scale: float = 100.0, text_weight: float = 0.5, gather: bool = True,
                 decoder_at_eval: bool = True, **kwargs) -> None:
        kwargs.setdefault('pooling', None)
        super().__init__(encoder=encoder, losses=losses, **kwargs)
        if getattr(self.encoder, 'token_source', 'projected') != 'projected':
            raise ValueError("SGMN projects every token (CLS = token 0): use token_source='projected'")
        dim = self.encoder.embed_dim
        self.text_encoder = build_module(text_encoder)
        self.fc_asr = nn.Linear(self.text_encoder.embed_dim, dim)
        self.fc_title = nn.Linear(self.text_encoder.embed_dim, dim)
        self.tdb, self.fusion, self.decoder = build_module(tdb), build_module(fusion), build_module(decoder)
        self.logit_scale, self.text_weight = logit_scale, text_weight
        self.gather, self.decoder_at_eval = gather, decoder_at_eval

    @property
    def pairwise_scorer(self) -> nn.Module | None:
        """The pairwise decoder when ``decoder_at_eval`` (states carry the fused tokens), else None."""
        return self.decoder if self.decoder_at_eval else None

    def texts(self, field: str, data_samples: list[dict], index: torch.Tensor) -> torch.Tensor:
        """Text vectors ``(N, Dt)`` of ``data_samples[index][field]`` ('' when absent), no gradient."""
        strings = [str(data_samples[i].get(field) or '') if i < len(data_samples) else ''
                   for i in index.tolist()]
        with torch.no_grad():
            return self.text_encoder(strings).float()

    def embed(self, inputs: dict) -> dict:
        """Encode the views present (``inputs`` carries ``data_samples``); see the class docstring."""
        samples = inputs.get('data_samples') or []
        fuse = self.training or self.decoder_at_eval
        gather = self.gather and self.training
        grad_gather = all_gather_with_grad if gather else (lambda x: x)
        nograd_gather = all_gather_no_grad if gather else (lambda x: x)
        out: dict = {'pair_decoder': self.decoder, 'logit_scale': self.logit_scale if self.training else 1.0}
        if inputs.get('video') is not None:
            mask = inputs['frame_mask']
            frame_emb, tokens = self.encode_frames(inputs['video'], mask)
            tdb = grad_gather(self.tdb(frame_emb, mask))
            asr = grad_gather(self.fc_asr(self.texts('asr', samples, inputs['video_index'])))
            tokens, mask = grad_gather(tokens), nograd_gather(mask)
            frame_graph = F.normalize(tdb, dim=-1)
            out.update(frame_emb=frame_emb, frame_tokens=tokens, frame_mask=mask, frame_graph=frame_graph,
                       video_emb=F.normalize(masked_mean(frame_graph, mask), dim=-1),
                       asr_emb=F.normalize(asr, dim=-1))
            if fuse:
                out['fused_clip_tokens'] = self.fusion(F.normalize(tokens.flatten(1, 2), dim=-1), out['asr_emb'])
                out['clip_token_mask'] = mask.repeat_interleave(tokens.shape[2], dim=1)
        if inputs.get('image') is not None:
            cls, tokens = self.encode_image(inputs['image'])
            title = grad_gather(self.fc_title(self.texts('title', samples, inputs['image_index'])))
            cls, tokens = grad_gather(cls), grad_gather(tokens)
            out.update(image_emb=F.normalize(cls, dim=-1), image_tokens=tokens, title_emb=F.normalize(title, dim=-1))
            if fuse:
                out['fused_image_tokens'] = self.fusion(F.normalize(tokens, dim=-1), out['title_emb'])
        if 'video_emb' in out and 'image_emb' in out:
            s = out['logit_scale']
            out['retrieve_logits'] = s * out['video_emb'] @ out['image_emb'].t()
            out['text_logits'] = s * out['asr_emb'] @ out['title_emb'].t()
            out['cl_logits'] = out['retrieve_logits'] + self.text_weight * out['text_logits']
        return out

    def loss(self, inputs: dict, data_samples: list[dict]) -> dict[str, torch.Tensor]:
        """Base ``loss`` with the samples' texts made visible to ``embed``."""
        return super().loss(dict(inputs, data_samples=data_samples), data_samples)

    def ranking_embedding(self, visual: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """``normalize([visual, √w·text])`` ``(N, 2D)``: its cosine is a monotone map of ``cl``."""
        return F.normalize(torch.cat([visual, self.text_weight ** 0.5 * text], dim=-1), dim=-1)

    def predict(self, inputs: dict, data_samples: list[dict]) -> list[dict]:
        """One dict per sample: meta + ``embedding`` (2D,) (+ ``pair_state`` with ``decoder_at_eval``)."""
        batch = self.embed(dict(inputs, data_samples=data_samples))
        outputs = [dict(sample) for sample in data_samples]
        if inputs.get('video') is not None:
            emb = self.ranking_embedding(batch['video_emb'], batch['asr_emb'])
            for j, i in enumerate(inputs['video_index'].tolist()):
                outputs[i]['embedding'] = emb[j].detach()
                if self.decoder_at_eval:
                    outputs[i]['pair_state'] = {'tokens': batch['fused_clip_tokens'][j].detach(),
                                                'token_mask': batch['clip_token_mask'][j].detach()}
        if inputs.get('image') is not None:
            emb = self.ranking_embedding(batch['image_emb'], batch['title_emb'])
            for j, i in enumerate(inputs['image_index'].tolist()):
                outputs[i]['embedding'] = emb[j].detach()
                if self.decoder_at_eval:
                    outputs[i]['pair_state'] = {'tokens': batch['fused_image_tokens'][j].detach()}
        return outputs
