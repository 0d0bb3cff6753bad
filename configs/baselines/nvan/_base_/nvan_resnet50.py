# NVAN-lite, full size (baselines.md §7): ResNet-50 with ImageNet weights from a local timm file
# ($CSA_PRETRAINED/resnet50.pth; nothing is downloaded), non-local blocks after stages 3 and 4,
# spatio-temporal GAP -> Linear(2048, 512) -> BN-neck -> L2. Category CE + batch-hard triplet.
num_categories = 34  # LPR4M's 34 categories (datasets.md)
model = dict(
    type='ClipLevelRetriever',
    # ImageNet mean/std (0-255 scale): the statistics the local timm ResNet weights were trained with.
    data_preprocessor=dict(type='RetrievalDataPreprocessor', mean=(123.675, 116.28, 103.53),
                           std=(58.395, 57.12, 57.375)),
    encoder=dict(type='NVANEncoder', model_name='resnet50', embed_dim=512, non_local_stages=(3, 4),
                 pretrained='{{$CSA_PRETRAINED:pretrained}}/resnet50.pth'),
    losses=[
        dict(type='BatchHardTripletLoss', margin=0.3, mode='joint'),
        dict(type='CategoryCELoss', num_classes=num_categories, in_dim=512, loss_weight=1.0, scale=16.0),
    ],
)
