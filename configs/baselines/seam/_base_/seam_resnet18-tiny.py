# SEAM-lite (baselines.md §6), CPU twin: quarter-width ResNet-18 trunk (channels 16..128, stem 16)
# and a 64-d descriptor (256 in SEAM, scaled with the trunk); random init.
model = dict(
    type='SEAMRetriever',
    data_preprocessor=dict(type='RetrievalDataPreprocessor'),
    # Shared trunk for frames and shop images; tokens = the last-stage feature map (baselines.md §6).
    encoder=dict(type='TimmEncoder', model_name='resnet18', channels=(16, 32, 64, 128), stem_width=16),
    dim=64,
    # 1 positive + 3 random in-batch negatives per clip, class-balanced 2-way CE (baselines.md §6).
    losses=[dict(type='SEAMMatchLoss', num_negatives=3, strategy='random')],
)
