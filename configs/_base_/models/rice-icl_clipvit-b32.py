# RICE, ICL only (ablation row 1), OpenAI CLIP ViT-B/32 (method.md §2-§4). Weights come from a
# local file only: place ViT-B-32.pt (the OpenAI TorchScript archive) under $CSA_PRETRAINED
# (default ./pretrained); a missing file is an error naming the path.
model = dict(
    type='RICERetriever',
    data_preprocessor=dict(type='RetrievalDataPreprocessor'),  # CLIP mean/std (method.md §1)
    # One encoder for shop images and frames; tokens before ln_post (V2); nothing frozen (V2).
    encoder=dict(type='CLIPViTEncoder', arch='ViT-B/32', token_source='hidden', frozen_stem=False,
                 pretrained='{{$CSA_PRETRAINED:pretrained}}/ViT-B-32.pt'),
    pooling=dict(type='MeanPooling', norm_first=False),  # V2: mean, then normalise (method.md §3)
    # Learnable sigma = 4 -> logits 16·cos; all-gathered over ranks (method.md §4).
    losses=[dict(type='ICLLoss', loss_weight=1.0, scale_init=4.0, learnable_scale=True, gather=True)],
)
