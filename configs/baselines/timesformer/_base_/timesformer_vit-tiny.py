# TimeSformer-lite, tiny size (baselines.md §8): random init, 64 px frames (the synthetic benchmark's
# size), patch 16 -> 4x4 grid, width 64, depth 2, 4 heads (cut from the suggested w192/d4 @112 px to
# fit the ≲40 s CPU training budget). Two towers with separate weights; symmetric InfoNCE.
_tower = dict(type='TimeSformerEncoder', img_size=64, patch_size=16, width=64, depth=2, num_heads=4,
              embed_dim=512, pretrained=None)
model = dict(
    type='ClipLevelRetriever',
    data_preprocessor=dict(type='RetrievalDataPreprocessor'),
    # num_frames=10: the time embedding covers the protocol's T = 10 (the synthetic data uses fewer).
    encoder=dict(_tower, temporal=True, num_frames=10),
    image_encoder=dict(_tower, temporal=False, num_frames=0),
    # ICL: learnable sigma = 4 -> logits 16·cos (baselines.md §2 / method.md §4).
    losses=[dict(type='ICLLoss', loss_weight=1.0, scale_init=4.0, learnable_scale=True, gather=True)],
)
