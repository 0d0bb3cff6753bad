"""SGMN's spatiotemporal graph loss (GCI): HREM's ``GraphLoss`` + ``AdjacencyModel`` (baselines.md §11.3)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from csa_bench.registry import MODELS

from .triplet import weighted_triplet_loss


def top_fraction_connect(sim: torch.Tensor, fraction: float) -> torch.Tensor:
    """Keep, per row, the entries ``≥`` the row's ``⌊fraction·n⌋``-th largest value ``(n_rows, n)``."""
    k = int(sim.shape[1] * fraction)
    if k < 1:
        raise ValueError(f'graph threshold {fraction} keeps no neighbour of {sim.shape[1]}: need a larger batch')
    return (sim - sim.topk(k, dim=1).values[:, -1:]) >= 0


class AdjacencyLearning(nn.Module):
    """Cross-modal relevance from "regions" (clip frames) and "words" (image-embedding copies).

    For every (word set t, region set i): ``cos`` -> leaky-ReLU(0.1) -> SCAN L2-normalisation (over
    words for t2i, over regions for i2t) -> max -> top-K vector -> ``MLP(K→K→1)`` + the mean as a
    residual. Returns ``(t2i relation, i2t relation, t2i mean, i2t mean)``, each ``(B, B)``
    (t2i rows = words' owners, i2t rows = regions' owners).
    """

    def __init__(self, topk: int) -> None:
        super().__init__()
        self.topk = topk
        self.mlp_t2i = nn.Sequential(nn.Linear(topk, topk), nn.ReLU(inplace=True), nn.Linear(topk, 1))
        self.mlp_i2t = nn.Sequential(nn.Linear(topk, topk), nn.ReLU(inplace=True), nn.Linear(topk, 1))

    def forward(self, regions: torch.Tensor, words: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``regions (B, R, D)``, ``words (B, W, D)`` -> four ``(B, B)`` matrices (see class doc)."""
        regions, words = F.normalize(regions, dim=-1), F.normalize(words, dim=-1)
        # sim[t, i, w, r]: word w of sample t against region r of sample i.
        sim = F.leaky_relu(torch.einsum('twd,ird->tiwr', words, regions), negative_slope=0.1)
        row = F.normalize(sim, dim=2).amax(dim=3)                 # (Bt, Bi, W): t2i, best region per word
        col = F.normalize(sim, dim=3).amax(dim=2)                 # (Bt, Bi, R): i2t, best word per region
        t2i_mean, i2t_mean = row.mean(dim=2), col.mean(dim=2).t()
        t2i_top = row.topk(self.topk, dim=2).values
        i2t_top = col.topk(self.topk, dim=2).values.transpose(0, 1)
        t2i = self.mlp_t2i(t2i_top).squeeze(-1) + t2i_mean
        i2t = self.mlp_i2t(i2t_top).squeeze(-1) + i2t_mean
        return t2i, i2t, t2i_mean, i2t_mean


def kl_relation(guide: torch.Tensor, relation: torch.Tensor) -> torch.Tensor:
    """``KL(softmax(relation) ‖ softmax(guide))`` per row, batchmean, temperature 1 (HREM ``kl_div``)."""
    return F.kl_div(F.log_softmax(guide, dim=-1), F.softmax(relation, dim=-1), reduction='batchmean')


@MODELS.register_module()
class SGMNGraphLoss(nn.Module):
    """Instance graph over ``[v; g]`` (2B nodes) with learned relevance masks; ``loss_gnn`` + ``loss_reg``.

    Reads ``batch['video_emb'] v (B, D)``, ``batch['image_emb'] g (B, D)`` (unit) and
    ``batch['frame_graph'] (B, T, D)`` (the unit TDB frames: the "regions"). The "words" are ``g``
    repeated ``T`` times. Connections (no grad) keep each row's top ``⌊0.5·B⌋``; relevance: i2i
    ``exp(−‖v_i − v_j‖)``, t2t ``exp(−‖g_i − g_j‖)``, i2t / t2i from ``AdjacencyLearning`` on
    **detached** regions. Mask ``M`` = relevance where connected, −inf elsewhere, is the additive mask
    of a 1-layer post-LN ``nn.TransformerEncoder`` (FFN ``D``, dropout 0.1) over the 2B nodes; its
    output, split and normalised, gives ``v′, g′``.

    Returns ``{'loss_gnn': Trip(v, g′) + Trip(v′, g) + Trip(v′, g′), 'loss_reg': 10·(KL_i2t + KL_t2i)}``
    with ``E = exp(−cdist(v, g))`` detached as the KL guide.

    Args:
        dim: Width ``D``.
        num_frames: ``T`` (= top-K and the number of word copies; 10 hard-coded in the release).
        num_heads: Heads of the graph encoder (16 in SGMN).
        threshold: Connection fraction (0.5).
        reg_weight: Weight of the KL term (10).
        cross_connect: i2i / t2t connections from cross-modal products ``v gᵀ`` / ``g vᵀ`` as
            released (quirk ``hrem_cross_connect``); False uses ``v vᵀ`` / ``g gᵀ``.
        triplet_dim: ``dim`` of the triplet weight formula (512 as released; None = ``D``).
    """

    def __init__(self, dim: int = 512, num_frames: int = 10, num_heads: int = 16, threshold: float = 0.5,
                 reg_weight: float = 10.0, cross_connect: bool = True, triplet_dim: int | None = 512) -> None:
        super().__init__()
        self.num_frames, self.threshold, self.reg_weight = num_frames, threshold, reg_weight
        self.cross_connect, self.triplet_dim = cross_connect, triplet_dim
        self.adjacency = AdjacencyLearning(num_frames)
        layer = nn.TransformerEncoderLayer(d_model=dim, nhead=num_heads, dim_feedforward=dim, dropout=0.1)
        self.gnn = nn.TransformerEncoder(layer, num_layers=1, enable_nested_tensor=False)

    def graph(self, v: torch.Tensor, g: torch.Tensor, frames: torch.Tensor) -> dict[str, torch.Tensor]:
        """Connections, relevance and the additive mask ``(2B, 2B)`` of the instance graph."""
        b, t = frames.shape[:2]
        if t != self.num_frames:
            raise ValueError(f'SGMNGraphLoss built for T={self.num_frames} frames, got {t}')
        with torch.no_grad():
            i2i_sim, t2t_sim = (v @ g.t(), g @ v.t()) if self.cross_connect else (v @ v.t(), g @ g.t())
            connect_i2i = top_fraction_connect(i2i_sim, self.threshold)
            connect_t2t = top_fraction_connect(t2t_sim, self.threshold)
        rel_i2i, rel_t2t = torch.exp(-torch.cdist(v, v)), torch.exp(-torch.cdist(g, g))
        words = g[:, None, :].expand(-1, t, -1)
        rel_t2i, rel_i2t, t2i_mean, i2t_mean = self.adjacency(frames.detach(), words.detach())
        connect_t2i = top_fraction_connect(t2i_mean, self.threshold)
        connect_i2t = top_fraction_connect(i2t_mean, self.threshold)
        connect = torch.cat([torch.cat([connect_i2i, connect_i2t], 1), torch.cat([connect_t2i, connect_t2t], 1)], 0)
        relation = torch.cat([torch.cat([rel_i2i, rel_i2t], 1), torch.cat([rel_t2i, rel_t2t], 1)], 0)
        return dict(connect=connect, relation=relation, mask=relation.masked_fill(~connect, float('-inf')),
                    rel_i2t=rel_i2t, rel_t2i=rel_t2i, t2i_mean=t2i_mean, rel_i2i=rel_i2i)

    def propagate(self, v: torch.Tensor, g: torch.Tensor,
                  frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """Relation-enhanced unit embeddings ``v′, g′ (B, D)`` and the graph (see ``graph``)."""
        b = v.shape[0]
        graph = self.graph(v, g, frames)
        # The 2B nodes form one sequence (seq-first layout, batch 1), masked by M.
        nodes = self.gnn(torch.cat([v, g], 0)[:, None, :], mask=graph['mask']).squeeze(1)
        return F.normalize(nodes[:b], dim=-1), F.normalize(nodes[b:], dim=-1), graph

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        """See the class docstring for the batch keys read and the dict returned."""
        v, g = batch['video_emb'], batch['image_emb']
        v2, g2, graph = self.propagate(v, g, batch['frame_graph'])
        trip = lambda x, y: weighted_triplet_loss(x, y, dim=self.triplet_dim)  # noqa: E731
        gnn = trip(v, g2) + trip(v2, g) + trip(v2, g2)
        guide = torch.exp(-torch.cdist(v, g)).detach()
        reg = kl_relation(guide, graph['rel_i2t']) + kl_relation(guide.t(), graph['rel_t2i'])
        return {'loss_gnn': gnn, 'loss_reg': self.reg_weight * reg}
