# DPRNet-lite (baselines.md §10) on lpr4m:
# full-size model with local ImageNet weights ($CSA_PRETRAINED, see the model base), 10 frames, 224 px.
# Schedule: the paper's is unverified; this uses the RICE V2 length and batch
# (5,000 iterations, global batch 96, 500 warmup + cosine) for a like-for-like comparison, AdamW at
# 1e-4 (a usual fine-tuning lr for ImageNet-pretrained backbones), fp16 AMP on GPU.
_base_ = ['../../_base_/schedules/baseline_adamw-5k.py',
          '../../_base_/datasets/lpr4m.py', '../../_base_/default_runtime.py',
          './_base_/dprnet_resnet50.py']
# Per-process batch: derived by `csa-bench train` as global_batch_size // world size once the
# launcher has started (torchrun or Slurm; csa_bench/engine/distributed.py).
train_dataloader = dict(batch_size=None)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=2000, save_last=True))
num_categories = 34  # LPR4M's 34 categories (datasets.md)
model = dict(losses=[
    dict(type='BatchHardTripletLoss', margin=0.3, mode='cross'),
    dict(type='CategoryCELoss', num_classes=num_categories, in_dim=512, loss_weight=1.0, scale=16.0),
])
method_name = 'DPRNet-lite'  # the leaderboard's method column
