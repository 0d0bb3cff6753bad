"""PMD memory per batch size, with chunking (2 anchors per decoder pass) and without (1 pass).

For each per-process batch ``B`` a ``PMDLoss`` runs forward + backward on random tokens shaped like
the encoder's (``(B, L, W)`` images, ``(B, T, L, W)`` clips, every frame real, no gather). Figures:

* ``peak``: the allocator peak over forward + backward, above what was held before. CUDA:
  ``torch.cuda.max_memory_allocated``. CPU: the largest ``Total Allocated`` of the CPU allocator
  events recorded by ``torch.profiler`` (``profile_memory=True``); ``getrusage`` is useless here (it
  only ever grows within a process) and so is ``tracemalloc`` (torch does not allocate through it).
* ``saved``: the bytes autograd keeps for backward (unique storages seen by ``saved_tensors_hooks``).
* ``attn_pass``: the analytic size of one decoder pass's cross-attention probabilities
  ``(n, h, L, T·L)`` float32, ``n = 4·anchors`` pairs: the transient that chunking bounds.

``chunk_vs_full_*`` are chunked / one-pass ratios from the same run. Every chunk's activations are
kept for the backward, so chunking bounds one pass's transients, not what a training step retains.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F

MIB = 2.0 ** 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--batch-sizes', type=int, nargs='+', default=[4, 8, 16],
                        help='per-process batches B')
    parser.add_argument('--frames', type=int, default=10, help='T, frames per clip (10: method.md §0)')
    parser.add_argument('--tokens', type=int, default=17,
                        help='L, tokens per image (17: tiny ViT; 50: ViT-B/32)')
    parser.add_argument('--width', type=int, default=64, help='W, token width (64: tiny ViT; 768: ViT-B/32)')
    parser.add_argument('--heads', type=int, default=8, help='PMD heads (8: V2)')
    parser.add_argument('--embed-dim', type=int, default=32, help='E, embedding dim used for mining')
    parser.add_argument('--chunk', type=int, default=2,
                        help='anchors per decoder pass when chunking (2: official)')
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


def _cpu_peak(fn) -> int:
    """Peak of the CPU allocator's running total (bytes allocated since profiling began)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn().backward()
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / 'trace.json'
        prof.export_chrome_trace(str(trace))
        events = json.loads(trace.read_text())['traceEvents']
    totals = [e['args']['Total Allocated'] for e in events
              if e.get('name') == '[memory]' and e.get('args', {}).get('Device Type') == 0]
    return max([0, *totals])


def measure(b: int, chunk: int, args: argparse.Namespace) -> dict[str, int]:
    """``{'peak': bytes, 'saved': bytes}`` of one PMD forward + backward at batch ``b``."""
    from csa_bench.plugin_loader import load_plugins
    from csa_bench.registry import MODELS

    load_plugins()
    device = torch.device(args.device)
    loss_module = MODELS.build(dict(type='PMDLoss', width=args.width, num_heads=args.heads,
                                    chunk_anchors=chunk,
                                    pmd_init='random', gather=False)).to(device)
    inputs = _inputs(b, args, device)
    step = lambda: loss_module(dict(inputs))['loss_pmd']
    peak = _cuda_peak(step, device) if device.type == 'cuda' else _cpu_peak(step)
    return {'peak': peak, 'saved': _saved_bytes(step)}


def run(args: argparse.Namespace) -> dict:
    """MiB per batch size, chunked and in one pass, and their ratios."""
    cuda = torch.device(args.device).type == 'cuda'
    peak_measure = 'cuda.max_memory_allocated' if cuda else 'CPU allocator (torch.profiler)'
    figures: dict = {'peak_measure': peak_measure,
                     'geometry': f'T={args.frames} L={args.tokens} W={args.width} h={args.heads}'}
    attn = lambda pairs: pairs * args.heads * args.tokens * args.frames * args.tokens * 4 / MIB
    figures['attn_pass_MiB_chunked'] = attn(args.chunk * 4)  # anchors × (1 positive + 3 negatives)
    for b in args.batch_sizes:
        chunked, full = measure(b, args.chunk, args), measure(b, b, args)
        figures[f'B{b}_attn_pass_MiB_full'] = attn(b * 4)
        for kind in ('peak', 'saved'):
            figures[f'B{b}_{kind}_MiB_chunked'] = chunked[kind] / MIB
            figures[f'B{b}_{kind}_MiB_full'] = full[kind] / MIB
            figures[f'chunk_vs_full_{kind}_B{b}'] = chunked[kind] / full[kind]
    return figures
