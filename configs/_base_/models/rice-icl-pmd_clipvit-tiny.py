# RICE, ICL + PMD on the tiny CLIP-geometry ViT (random init; the synthetic twin of row 2).
_base_ = ['./rice-icl_clipvit-tiny.py']
model = dict(losses=[
    dict(type='ICLLoss', loss_weight=1.0, scale_init=4.0, learnable_scale=True, gather=True),
    # Width 64 = the tiny encoder's; 8 heads as in V2 (d_h 8). visual_last2 copies its 2 blocks.
    dict(type='PMDLoss', width=64, num_heads=8, loss_weight=1.0, num_negatives=3, chunk_anchors=2,
         attn_drop=0.1, score_scale=10.0, pmd_init='visual_last2', gather=True),
])
