# DPRNet-lite, tiny size (baselines.md §10): random-init quarter-width ResNet-18 -> GAP ->
# Linear(128, 512) -> L2; a learned quality Linear(512 -> 1) picks the top-3 real frames, pooled with
# softmax(q) weights; category CE + batch-hard triplet. No boxes: frames are not cropped (boxes=gt
# would be a protocol deviation).
num_categories = 34  # LPR4M's 34 categories (datasets.md); dataset configs override the CE head
model = dict(
    type='VideoShopRetriever',
    data_preprocessor=dict(type='RetrievalDataPreprocessor'),
    encoder=dict(
        type='GAPNeckEncoder',
        # Quarter-width ResNet-18 (channels 16..128, stem 16): the CPU twin that fits the ≲40 s
        # synthetic training budget (the same trunk as SEAM-lite's tiny config).
        backbone=dict(type='TimmEncoder', model_name='resnet18', embed_dim=None, pretrained=None,
                      channels=(16, 32, 64, 128), stem_width=16),
        embed_dim=512, bn=False),  # the spec's neck is CNN -> GAP -> Linear -> L2, no BN
    pooling=dict(type='TopKQualityPooling', in_dim=512, k=3),
    skip_padded_frames=True,  # BatchNorm in the ResNet sees real frames only
    losses=[
        dict(type='BatchHardTripletLoss', margin=0.3, mode='cross'),
        # scale 16 (NormFace) because the classifier sees L2-normalised embeddings.
        dict(type='CategoryCELoss', num_classes=num_categories, in_dim=512, loss_weight=1.0, scale=16.0),
    ],
)
