# Everything the three RICE ablation rows share on the synthetic LPR4M benchmark except the model:
# data, the CPU schedule, the runtime and the row settings below. A row is its model base + this file.
_base_ = [
    './datasets/synthetic_lpr4m.py',
    './schedules/rice_adamw-1000it_cpu.py',
    './default_runtime.py',
]
# Global batch 16 (the synthetic splits are small; 16 leaves >= 3 hard negatives per anchor), split
# over WORLD_SIZE processes as in the real configs.
global_batch_size = 16
# Per-process batch: derived by `csa-bench train` as global_batch_size // world size once the
# launcher has started (torchrun or Slurm; csa_bench/engine/distributed.py).
train_dataloader = dict(batch_size=None)
optim_wrapper = dict(optimizer=dict(betas=(0.9, 0.999)))  # the real dataset's betas (method.md §8)
default_hooks = dict(checkpoint=dict(interval=500, save_last=True),  # halfway (resumable) + final
                     logger=dict(interval=50))
method_name = 'RICE'  # the leaderboard's method column
