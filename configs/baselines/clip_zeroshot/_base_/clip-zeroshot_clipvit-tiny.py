# CLIP zero-shot (frame mean), baselines.md §3, on the CPU-sized CLIP-geometry ViT ('tiny': 64 px,
# patch 16, width 64, 2 layers, 4 heads, 32-d embedding). No weights exist for this size, so the
# encoder is random: the leaderboard row is labelled random-init (a floor, not CLIP).
zero_shot = True  # evaluated with `csa-bench test CONFIG`, no checkpoint, never trained
weights_label = 'random-init'
method_name = 'CLIP zero-shot meanP (random-init)'
model = dict(
    type='ZeroShotRetriever',
    data_preprocessor=dict(type='RetrievalDataPreprocessor'),  # CLIP mean/std (method.md §1)
    encoder=dict(type='CLIPViTEncoder', arch='tiny', token_source='hidden', pretrained=None),
    # CLIP4Clip meanP: L2-normalise each frame, then the masked mean (baselines.md §3).
    pooling=dict(type='MeanPooling', norm_first=True),
)
