# The RICE V2 training recipe (method.md §8, official yaml e2e_pretraining_vic_vim_rec.yaml).
max_iters = 5000  # 5,000 updates
warmup_iters = 500  # lr factor s/500 for s < 500
# Global batch 96 (yaml; the README's 128 disagrees, method.md §11.9). `csa-bench train` derives the
# per-process batch as global_batch_size // world size after the launcher starts, and checks it is
# even (PMD processes anchors in pairs; csa_bench/engine/distributed.py).
global_batch_size = 96
optim_wrapper = dict(
    # fp16 autocast + dynamic GradScaler, no gradient clipping (method.md §8).
    type='AmpOptimWrapper', dtype='float16', loss_scale='dynamic',
    # torch AdamW ~ transformers.AdamW (decoupled decay, bias correction); eps 1e-6, wd 0.2.
    # Base lr 1e-6 is the CLIP encoder's (and logit_scale's with the 'pretraining' head).
    optimizer=dict(type='AdamW', lr=1e-6, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.2),
    constructor='NameRuleOptimWrapperConstructor',
    paramwise_cfg=dict(
        # PMD decoder (blocks, pooler, score vector w) and the PFR conv head: 1e-4 (lr_multiplier 100).
        lr_mult_keys=['decoder.', 'attn_head.'], lr_mult=100.0,
        # No decay for any name containing 'bias' (in_proj_bias included), 0.2 for everything else.
        no_decay_keys=['bias']),
)
param_scheduler = [
    # mmengine's LinearLR is chained: start_factor must be > 0 (0 never recovers), and end=501
    # gives total_iters=500, i.e. the HF factor s/500 to within 1e-8 (method.md §8 mmengine mapping).
    dict(type='LinearLR', start_factor=1e-8, end_factor=1.0, begin=0, end=warmup_iters + 1, by_epoch=False),
    # 0.5·(1 + cos(π·(s − 500)/4500)) down to 0 at 5000.
    dict(type='CosineAnnealingLR', T_max=max_iters - warmup_iters, eta_min=0.0, begin=warmup_iters,
         end=max_iters, by_epoch=False),
]
# No validation during training in the official recipe: evaluate once, at the end.
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# Checkpoints every 2000 iterations (default_runtime.py's CheckpointHook) plus the final one: the
# rows add save_last (default_runtime.py owns default_hooks; mmengine refuses a key in two bases).
