# AsymNet-lite (baselines.md §5), CPU twin: a quarter-width ResNet-18 (channels 16..128, stem 16;
# ~0.7 M parameters) so a synthetic run fits the ~40 s CPU budget; random init.
model = dict(
    type='AsymNetRetriever',
    data_preprocessor=dict(type='RetrievalDataPreprocessor'),
    # One CNN for frames and shop images (baselines.md §4/§5); embed_dim=None keeps its 128-d GAP feature.
    encoder=dict(type='TimmEncoder', model_name='resnet18', channels=(16, 32, 64, 128), stem_width=16),
    # ResNet BatchNorm: encode only the real frames so padding never enters the batch statistics.
    skip_padded_frames=True,
    hidden_dim=128,  # LSTM hidden size; 512 in the full model, scaled with the CNN width here
    head=dict(type='AsymNetSimilarityHead', dim=128, mlp_dim=64, fusion='gate'),
    # 1 positive + k=3 in-batch negatives per clip, hardest by current score (baselines.md §5).
    losses=[dict(type='AsymNetBCELoss', num_negatives=3, strategy='hard')],
)
