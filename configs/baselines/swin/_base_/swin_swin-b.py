# Swin-B (baselines.md §9): swin_base_patch4_window7_224 with ImageNet-22k->1k weights from a local
# timm file ($CSA_PRETRAINED/swin_base_patch4_window7_224.pth; nothing is downloaded), 224 px,
# GAP -> Linear(1024, 512) -> L2, frames masked-mean pooled, symmetric InfoNCE.
model = dict(
    type='VideoShopRetriever',
    # ImageNet mean/std (0-255 scale): the statistics the Swin weights were trained with.
    data_preprocessor=dict(type='RetrievalDataPreprocessor', mean=(123.675, 116.28, 103.53),
                           std=(58.395, 57.12, 57.375)),
    encoder=dict(type='SwinEncoder', model_name='swin_base_patch4_window7_224', embed_dim=512,
                 pretrained='{{$CSA_PRETRAINED:pretrained}}/swin_base_patch4_window7_224.pth'),
    pooling=dict(type='MeanPooling', norm_first=False),
    losses=[dict(type='ICLLoss', loss_weight=1.0, scale_init=4.0, learnable_scale=True, gather=True)],
)
