# FashionNet-lite, tiny size (baselines.md §4): random-init quarter-width ResNet-18 -> GAP ->
# Linear(128, 512) -> BN -> L2, per frame then masked mean; batch-hard triplet + category CE (λ = 1).
num_categories = 34  # LPR4M's 34 categories (datasets.md); dataset configs override the CE head
model = dict(
    type='VideoShopRetriever',
    data_preprocessor=dict(type='RetrievalDataPreprocessor'),
    encoder=dict(
        type='GAPNeckEncoder',
        # embed_dim=None: TimmEncoder returns timm's pooled 128-d feature; the neck projects it.
        # Quarter-width ResNet-18 (channels 16..128, stem 16): the CPU twin that fits the ≲40 s
        # synthetic training budget (the same trunk as SEAM-lite's tiny config).
        backbone=dict(type='TimmEncoder', model_name='resnet18', embed_dim=None, pretrained=None,
                      channels=(16, 32, 64, 128), stem_width=16),
        embed_dim=512, bn=True),
    pooling=dict(type='MeanPooling', norm_first=False),  # masked mean, then L2 (baselines.md §2)
    # BatchNorm must see real frames only in training (padded frames would bias its statistics).
    skip_padded_frames=True,
    losses=[
        # Consumer-to-shop triplets of the original: clip anchors vs shop images and back.
        dict(type='BatchHardTripletLoss', margin=0.3, mode='cross'),
        # λ = 1; scale 16 (NormFace) because the classifier sees L2-normalised embeddings.
        dict(type='CategoryCELoss', num_classes=num_categories, in_dim=512, loss_weight=1.0, scale=16.0),
    ],
)
