# AsymNet-lite (baselines.md §5), full size: ImageNet ResNet-50 from a local timm weight file
# ({{$CSA_PRETRAINED:pretrained}}/resnet50.a1_in1k.pth; nothing is downloaded), LSTM hidden 512,
# similarity MLP 1024 -> 256 -> 1 (baselines.md §5).
model = dict(
    type='AsymNetRetriever',
    data_preprocessor=dict(type='RetrievalDataPreprocessor'),
    encoder=dict(type='TimmEncoder', model_name='resnet50',
                 pretrained='{{$CSA_PRETRAINED:pretrained}}/resnet50.a1_in1k.pth'),
    skip_padded_frames=True,  # BatchNorm: padded frames must not enter the batch statistics
    hidden_dim=512,
    head=dict(type='AsymNetSimilarityHead', dim=512, mlp_dim=256, fusion='gate'),
    losses=[dict(type='AsymNetBCELoss', num_negatives=3, strategy='hard')],
)
