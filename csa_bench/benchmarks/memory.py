"""PMD memory per batch size, with chunking (2 anchors per decoder pass) and without (1 pass).

For each per-process batch ``B`` a ``PMDLoss`` runs forward + backward on random tokens shaped like
the encoder's (``(B, L, W)`` images, ``(B, T, L, W)`` clips, every frame real, no gather). What is
measured depends on the host, and the result says which (``measure``):

* CUDA: ``torch.cuda.max_memory_allocated`` over forward + backward, minus the memory held before.
* CPU: the bytes autograd **saves for backward** during the forward (``saved_tensors_hooks``, unique
  storages). On CPU no allocator reports a peak, and ``getrusage`` only ever grows within a process;
  the saved tensors are what a training step keeps alive until ``backward``, i.e. the bulk of its
  peak. Next to it, ``attn_pass_MiB`` is the analytic size of one decoder pass's cross-attention
  probabilities ``(n, h, L, T·L)`` (``n = 4·anchors`` pairs): the transient that chunking bounds.

Each figure ``chunk_vs_full_B{B}`` is chunked / unchunked memory in the same run. Chunking bounds a
single pass; every chunk's activations are still kept for the backward, so the saved bytes of a
training step barely change (the official chunking limits transient, not retained, memory).
"""
from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

MIB = 2.0 ** 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--batch-sizes', type=int, nargs='+', default=[4, 8, 16], help='per-process batches B')
    parser.add_argument('--frames', type=int, default=10, help='T, frames per clip (10: method.md §0)')
    parser.add_argument('--tokens', type=int, default=17, help='L, tokens per image (17: tiny ViT; 50: ViT-B/32)')
    parser.add_argument('--width', type=int, default=64, help='W, token width (64: tiny ViT; 768: ViT-B/32)')
    parser.add_argument('--heads', type=int, default=8, help='PMD heads (8: V2)')
    parser.add_argument('--embed-dim', type=int, default=32, help='E, embedding dim used for mining')
    parser.add_argument('--chunk', type=int, default=2, help='anchors per decoder pass when chunking (2: official)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')


def _inputs(b: int, args: argparse.Namespace, device: torch.device) -> dict:
    gen = torch.Generator().manual_seed(b)
    shape = (b, args.frames, args.tokens, args.width)
    return {
        'image_tokens': torch.randn(b, args.tokens, args.width, generator=gen).to(device).requires_grad_(),
        'frame_tokens': torch.randn(*shape, generator=gen).to(device).requires_grad_(),
        'frame_mask': torch.ones(b, args.frames, dtype=torch.bool, device=device),
        'image_emb': F.normalize(torch.randn(b, args.embed_dim, generator=gen), dim=-1).to(device),
        'video_emb': F.normalize(torch.randn(b, args.embed_dim, generator=gen), dim=-1).to(device),
    }


def _saved_bytes(fn) -> int:
    """Bytes of the unique storages autograd saves for backward while ``fn()`` runs; runs backward."""
    seen: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        seen[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        loss = fn()
    loss.backward()
    return sum(seen.values())


def _cuda_peak(fn, device: torch.device) -> int:
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    fn().backward()
    torch.cuda.synchronize(device)
    return torch.cuda.max_memory_allocated(device) - before


def measure(b: int, chunk: int, args: argparse.Namespace) -> int:
    """Bytes for one PMD forward + backward at batch ``b`` with ``chunk`` anchors per pass."""
    from csa_bench.plugin_loader import load_plugins
    from csa_bench.registry import MODELS

    load_plugins()
    device = torch.device(args.device)
    loss_module = MODELS.build(dict(type='PMDLoss', width=args.width, num_heads=args.heads, chunk_anchors=chunk,
                                    pmd_init='random', gather=False)).to(device)
    inputs = _inputs(b, args, device)
    step = lambda: loss_module(dict(inputs))['loss_pmd']
    if device.type == 'cuda':
        return _cuda_peak(step, device)
    return _saved_bytes(step)


def run(args: argparse.Namespace) -> dict:
    """Memory in MiB per batch size with and without chunking, and their ratio."""
    cuda = torch.device(args.device).type == 'cuda'
    figures: dict = {'measure': 'cuda.max_memory_allocated' if cuda else 'saved-for-backward bytes (CPU)',
                     'geometry': f'T={args.frames} L={args.tokens} W={args.width} h={args.heads}'}
    pairs = args.chunk * 4  # anchors × (1 positive + 3 negatives)
    figures['attn_pass_MiB_chunked'] = pairs * args.heads * args.tokens * args.frames * args.tokens * 4 / MIB
    for b in args.batch_sizes:
        chunked, full = measure(b, args.chunk, args), measure(b, b, args)
        figures[f'B{b}_chunked_MiB'] = chunked / MIB
        figures[f'B{b}_full_MiB'] = full / MIB
        figures[f'B{b}_attn_pass_MiB_full'] = b * 4 * args.heads * args.tokens * args.frames * args.tokens * 4 / MIB
        figures[f'chunk_vs_full_B{b}'] = chunked / full
    return figures
