# SGMN-lite, full size, with every released quirk fixed (baselines.md §11.8 quirk flags); report it as
# a separate row from the as-released model.
_base_ = ['./sgmn_clipvit-b32.py']
model = dict(
    tdb=dict(mask_repeat=False),  # repeat_interleave: each sample keeps its own key mask
    decoder_at_eval=False,  # embedding-only ranking without computing the unused fused tokens
    losses=[
        dict(type='SGMNTextLoss'),
        dict(type='SGMNTripletLoss', triplet_dim=None),  # the weight formula's dim = D
        dict(type='SGMNGraphLoss', dim=512, num_frames=10, num_heads=16, cross_connect=False, triplet_dim=None),
        dict(type='SGMNPairwiseLoss', num_negatives=3, diag=False),  # -log softmax(row)[0] on every row
    ],
)
