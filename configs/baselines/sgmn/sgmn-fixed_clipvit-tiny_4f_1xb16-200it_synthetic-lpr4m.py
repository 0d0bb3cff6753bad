# sgmn-fixed-lite on the synthetic lpr4m benchmark (CPU), every released quirk fixed (a separate row).
# Ranking is embedding-only (cos(v, g) + 0.5 cos(a, c), baselines.md §11.5): the plain RetrievalMetric.
_base_ = ['../../_base_/datasets/synthetic_lpr4m.py', '../../_base_/default_runtime.py',
          './_base_/sgmn-fixed_clipvit-tiny.py']
max_iters = 200  # §11.8: "a few hundred" steps; the tiny ViT keeps a run inside the CPU budget
warmup_iters = 20  # 10% linear warmup, then cosine over the rest (the release's warmup_cosine)
optim_wrapper = dict(
    type='OptimWrapper',
    # BertAdam's settings (§11.4): β=(0.9, 0.98), eps 1e-6, weight decay 0.2 except biases. Random
    # init, so coef_lr = 1 (one lr for the encoder and the new layers, §11.8) and 1e-3, a usual
    # from-scratch AdamW lr at this size (the release's 3e-4 is for its new layers next to CLIP).
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.2),
    paramwise_cfg=dict(bias_decay_mult=0.0),
    clip_grad=dict(max_norm=1.0),  # the release clips the global norm to 1.0 (train.py:314)
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, begin=0, end=warmup_iters, by_epoch=False),
    dict(type='CosineAnnealingLR', T_max=max_iters - warmup_iters, begin=warmup_iters, end=max_iters,
         by_epoch=False),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=max_iters, save_last=True),
                     logger=dict(interval=50))
method_name = 'SGMN-lite (fixed quirks)'  # the leaderboard's method column
