# RICE, ICL + PMD + PFR on the tiny CLIP-geometry ViT (random init; the synthetic twin of row 3).
_base_ = ['./rice-icl_clipvit-tiny.py']
model = dict(losses=[
    dict(type='ICLLoss', loss_weight=1.0, scale_init=4.0, learnable_scale=True, gather=True),
    dict(type='PMDLoss', width=64, num_heads=8, loss_weight=1.0, num_negatives=3, chunk_anchors=2,
         attn_drop=0.1, score_scale=10.0, pmd_init='visual_last2', gather=True),
    dict(type='PFRLoss', num_heads=8, loss_weight=1.0, mask_padded=True),  # after PMD (reads its maps)
])
