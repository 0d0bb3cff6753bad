# RICE, ICL only, on the CPU-sized CLIP-geometry ViT ('tiny': 64 px, patch 16, width 64, 2 layers,
# 4 heads, 32-d embedding). Random init: this is the synthetic-benchmark / test twin of
# rice-icl_clipvit-b32.py, not a pretrained model.
model = dict(
    type='RICERetriever',
    data_preprocessor=dict(type='RetrievalDataPreprocessor'),  # CLIP mean/std (method.md §1)
    # One encoder for shop images and frames (method.md §2).
    encoder=dict(type='CLIPViTEncoder', arch='tiny', token_source='hidden'),
    # V2 masked mean, frames not normalised first (method.md §3).
    pooling=dict(type='MeanPooling', norm_first=False),
    # Learnable sigma = 4 -> logits 16·cos (method.md §4); gather over ranks explicitly (style rule 7).
    losses=[dict(type='ICLLoss', loss_weight=1.0, scale_init=4.0, learnable_scale=True, gather=True)],
)
