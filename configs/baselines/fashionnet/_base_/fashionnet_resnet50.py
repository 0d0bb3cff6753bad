# FashionNet-lite, full size (baselines.md §4): ResNet-50 (ImageNet weights from a local timm file:
# $CSA_PRETRAINED/resnet50.pth, timm's own state-dict format; nothing is downloaded) -> GAP ->
# Linear(2048, 512) -> BN -> L2; batch-hard triplet + category CE (λ = 1).
num_categories = 34  # LPR4M's 34 categories (datasets.md)
model = dict(
    type='VideoShopRetriever',
    # ImageNet mean/std (0-255 scale): the statistics the local timm ResNet weights were trained with.
    data_preprocessor=dict(type='RetrievalDataPreprocessor', mean=(123.675, 116.28, 103.53),
                           std=(58.395, 57.12, 57.375)),
    encoder=dict(
        type='GAPNeckEncoder',
        backbone=dict(type='TimmEncoder', model_name='resnet50', embed_dim=None,
                      pretrained='{{$CSA_PRETRAINED:pretrained}}/resnet50.pth'),
        embed_dim=512, bn=True),
    pooling=dict(type='MeanPooling', norm_first=False),
    skip_padded_frames=True,  # BatchNorm sees real frames only
    losses=[
        dict(type='BatchHardTripletLoss', margin=0.3, mode='cross'),
        dict(type='CategoryCELoss', num_classes=num_categories, in_dim=512, loss_weight=1.0, scale=16.0),
    ],
)
