# Swin, tiny size (baselines.md §9): random init, width 48, depths 2/2/2/2, heads 3/6/12/24, at 64 px
# (the synthetic benchmark's input). Window 4 instead of 7: 7 does not tile the 16/8/4/2 stage grids
# of a 64 px input (patch 4); GAP -> Linear(384, 512) -> L2, frames masked-mean pooled, InfoNCE.
model = dict(
    type='VideoShopRetriever',
    data_preprocessor=dict(type='RetrievalDataPreprocessor'),
    encoder=dict(type='SwinEncoder', model_name='swin_tiny_patch4_window7_224', embed_dim=512,
                 pretrained=None, img_size=64, window_size=4, swin_width=48, depths=(2, 2, 2, 2),
                 num_heads=(3, 6, 12, 24),
                 drop_path_rate=0.0),  # no stochastic depth for a 2-block-per-stage toy trained briefly
    pooling=dict(type='MeanPooling', norm_first=False),  # masked mean, then L2 (baselines.md §2)
    # ICL: learnable sigma = 4 -> logits 16·cos (baselines.md §2 / method.md §4).
    losses=[dict(type='ICLLoss', loss_weight=1.0, scale_init=4.0, learnable_scale=True, gather=True)],
)
