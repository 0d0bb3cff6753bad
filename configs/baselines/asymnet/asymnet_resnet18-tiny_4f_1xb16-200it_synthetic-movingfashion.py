# AsymNet-lite on the synthetic MovingFashion benchmark (CPU). Pairwise re-ranking of the
# embedding shortlist (global gallery, baselines.md §2).
_base_ = ['../../_base_/datasets/synthetic_movingfashion.py', '../../_base_/default_runtime.py',
          './_base_/asymnet_resnet18-tiny.py']
max_iters = 200  # ~0.2 s/iter on one CPU core with the quarter-width ResNet-18: within the ~40 s budget
optim_wrapper = dict(
    type='OptimWrapper',
    # Random init: 1e-3 is a usual from-scratch AdamW lr (the same reason as rice_adamw-300it_cpu.py).
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=1e-4),
    clip_grad=dict(max_norm=1.0),  # the LSTM's gradients spike early with hard negatives
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, begin=0, end=20, by_epoch=False),  # 10% warmup
    dict(type='CosineAnnealingLR', T_max=max_iters - 20, begin=20, end=max_iters, by_epoch=False),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=max_iters, save_last=True),
                     logger=dict(interval=50))
# Pairwise path: the embedding top-50 re-ranked by the similarity head only (α=1).
custom_hooks = [dict(type='PairwiseScorerHook')]
val_evaluator = dict(type='RetrievalMetric', protocol='movingfashion-csa', rerank=dict(mode='shortlist', k=50, alpha=1.0))
test_evaluator = val_evaluator
method_name = 'AsymNet-lite'  # the leaderboard's method column
