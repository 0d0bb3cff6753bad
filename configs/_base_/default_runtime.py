# Runtime shared by every config: scope, plugin loading, hooks, logging, randomness.
default_scope = 'csa_bench'
# Plugins are found through the config, exactly as a third-party package would be (style rule 2).
# A child config that sets custom_imports *replaces* this list: keep both entries there.
custom_imports = dict(imports=['plugins', 'baselines'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Iteration-based checkpoints (iter_N.pth), as the official recipe counts iterations.
    # AtomicCheckpointHook = mmengine's CheckpointHook + atomic writes, rotation after the save and
    # no checkpoint of non-finite weights (csa_bench/engine/checkpoint.py).
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=2000, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # The reliability hooks live here rather than in custom_hooks because default_hooks merge by
    # key: a child config that sets custom_hooks would otherwise drop them silently.
    # A NaN/inf loss term stops training before the optimizer step, naming iteration and term
    # ('skip' skips the step instead; csa_bench/engine/hooks.py).
    nonfinite_loss=dict(type='NonFiniteLossHook', action='raise'),
    # Python/numpy/torch RNG states go into every checkpoint, so --resume replays exactly.
    rng_state=dict(type='RNGStateHook'),
    # Samples skipped under on_bad_sample='skip' are logged and written to bad_samples.json.
    bad_samples=dict(type='BadSampleReportHook', interval=500),
)
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
log_processor = dict(by_epoch=False, window_size=10)
log_level = 'INFO'
load_from = None
resume = False
# Official seed 42 (+ rank: diff_rank_seed), method.md §8.
randomness = dict(seed=42, diff_rank_seed=True, deterministic=False)
