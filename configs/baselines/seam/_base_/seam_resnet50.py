# SEAM-lite (baselines.md §6), full size: ImageNet ResNet-50 trunk from a local timm weight file
# ({{$CSA_PRETRAINED:pretrained}}/resnet50.a1_in1k.pth; nothing is downloaded; SEAM itself starts
# from DeepFashion2 Match R-CNN, which has no detector-free equivalent here), 256-d descriptor.
model = dict(
    type='SEAMRetriever',
    data_preprocessor=dict(type='RetrievalDataPreprocessor'),
    encoder=dict(type='TimmEncoder', model_name='resnet50',
                 pretrained='{{$CSA_PRETRAINED:pretrained}}/resnet50.a1_in1k.pth'),
    dim=256,
    losses=[dict(type='SEAMMatchLoss', num_negatives=3, strategy='random')],
)
