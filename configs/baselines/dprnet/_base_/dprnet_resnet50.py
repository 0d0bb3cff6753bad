# DPRNet-lite, full size (baselines.md §10): ResNet-50 with ImageNet weights from a local timm file
# ($CSA_PRETRAINED/resnet50.pth; nothing is downloaded) -> GAP -> Linear(2048, 512) -> L2; top-3
# frames by a learned quality score, softmax(q) weights; category CE + batch-hard triplet. No boxes.
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
        embed_dim=512, bn=False),
    pooling=dict(type='TopKQualityPooling', in_dim=512, k=3),
    skip_padded_frames=True,
    losses=[
        dict(type='BatchHardTripletLoss', margin=0.3, mode='cross'),
        dict(type='CategoryCELoss', num_classes=num_categories, in_dim=512, loss_weight=1.0, scale=16.0),
    ],
)
