# sgmn-lite on lpr4m, full size (CLIP ViT-B/32 + CLIP text tower from $CSA_PRETRAINED), quirks as released.
# Ranking is embedding-only (cos(v, g) + 0.5 cos(a, c), baselines.md §11.5): the plain RetrievalMetric.
_base_ = ['../../_base_/datasets/lpr4m.py', '../../_base_/default_runtime.py',
          './_base_/sgmn_bertadam-5k.py', './_base_/sgmn_clipvit-b32.py']
# Per-process batch: derived by `csa-bench train` as global_batch_size // world size once the
# launcher has started (torchrun or Slurm; csa_bench/engine/distributed.py).
train_dataloader = dict(batch_size=None)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=2000, save_last=True))
method_name = 'SGMN-lite (as released)'  # the leaderboard's method column
