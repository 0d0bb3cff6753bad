"""Two gloo processes with batch G/2 each == one process with batch G (method.md §4, §12).

Losses are averaged over ranks and gradients all-reduced and divided by W, which is what DDP does;
the differentiable gather's all-reduce backward must make the two runs identical. PMD attention
dropout is disabled so both runs are deterministic.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

G, T, SIZE = 8, 2, 32  # global batch, frames, pixels (patch 16 -> L = 5 tokens)


def _setup() -> tuple[torch.nn.Module, dict, list[dict]]:
    """The full RICE model (ICL + PMD + PFR) on a tiny encoder, and one global batch."""
    from mmengine.registry import init_default_scope

    from csa_bench.plugin_loader import load_plugins
    from csa_bench.registry import MODELS

    load_plugins()
    init_default_scope('csa_bench')
    torch.manual_seed(0)
    arch = dict(img_size=SIZE, patch_size=16, width=32, layers=2, heads=4, embed_dim=16)
    model = MODELS.build(dict(
        type='RICERetriever', encoder=dict(type='CLIPViTEncoder', arch=arch), pooling=dict(type='MeanPooling'),
        losses=[dict(type='ICLLoss', gather=True),
                dict(type='PMDLoss', width=32, num_heads=4, attn_drop=0.0, gather=True),
                dict(type='PFRLoss', num_heads=4)]))
    g = torch.Generator().manual_seed(1)
    mask = torch.ones(G, T, dtype=torch.bool)
    mask[::3, 1] = False  # some clips have a padded frame
    video = torch.randn(G, T, 3, SIZE, SIZE, generator=g) * mask[..., None, None, None]
    inputs = dict(video=video, frame_mask=mask, video_index=torch.arange(G),
                  image=torch.randn(G, 3, SIZE, SIZE, generator=g), image_index=torch.arange(G))
    samples = [dict(role='pair', sample_id=f'c{i}', item_id=f'p{i}', label=i, category_id=0) for i in range(G)]
    return model, inputs, samples


def _run(model: torch.nn.Module, inputs: dict, samples: list[dict]) -> tuple[dict, dict]:
    out = model.loss(inputs, samples)
    losses = {k: v for k, v in out.items() if k.startswith('loss_')}
    sum(losses.values()).backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    return {k: v.detach() for k, v in losses.items()}, grads


def _worker(rank: int, world: int, port: int, out_file: str) -> None:
    torch.set_num_threads(1)
    # The rendezvous store is served by the test process, which outlives both ranks: with a store
    # hosted by rank 0 (tcp:// or file:// init), rank 1 could still be tearing down when rank 0 had
    # exited, and aborted ('terminate called without an active exception') in fresh-clone CI runs.
    store = dist.TCPStore('127.0.0.1', port, None, is_master=False)
    dist.init_process_group('gloo', store=store, rank=rank, world_size=world)
    try:
        model, inputs, samples = _setup()
        b = G // world
        part = slice(rank * b, (rank + 1) * b)
        local = dict(video=inputs['video'][part], frame_mask=inputs['frame_mask'][part],
                     video_index=torch.arange(b), image=inputs['image'][part], image_index=torch.arange(b))
        losses, grads = _run(model, local, samples[part])
        for tensor in list(losses.values()) + list(grads.values()):
            dist.all_reduce(tensor)  # DDP averages gradients; the logged loss is the rank mean
            tensor /= world
        if rank == 0:
            torch.save({'losses': losses, 'grads': grads}, out_file)
        dist.barrier()  # no rank tears the group down while another still uses it
    finally:
        dist.destroy_process_group()


def test_two_processes_equal_one(tmp_path: Path) -> None:
    model, inputs, samples = _setup()
    ref_losses, ref_grads = _run(model, inputs, samples)
    out_file = tmp_path / 'ddp.pt'
    # port 0: the OS picks a free one; the ranks are the store's clients, so it waits for none.
    store = dist.TCPStore('127.0.0.1', 0, None, is_master=True, wait_for_workers=False)
    mp.spawn(_worker, args=(2, store.port, str(out_file)), nprocs=2, join=True)
    del store
    got = torch.load(out_file)
    assert set(got['losses']) == {'loss_icl', 'loss_pmd', 'loss_pfr'}
    for key, value in ref_losses.items():
        torch.testing.assert_close(got['losses'][key], value, rtol=1e-5, atol=1e-6)
    assert set(got['grads']) == set(ref_grads)
    for name, grad in ref_grads.items():
        # Relative to the tensor's norm: float32 summation order differs between 1 and 2 processes,
        # and a few small gradients (ln_post bias) are sums of nearly cancelling terms (~3e-3 noise).
        # The PFR conv biases shift every key's logit equally (softmax-invariant): their gradients are
        # ~1e-8 rounding noise, hence the absolute floor. A wrong gather backward is off by a
        # factor (1/W or W), far above either bound.
        diff = (got['grads'][name] - grad).norm()
        assert diff <= 1e-2 * grad.norm() + 1e-7, f'{name}: gradient error {diff:.2e} vs norm {grad.norm():.2e}'
