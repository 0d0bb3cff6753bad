# RICE, ICL + PMD on the tiny CLIP-geometry ViT (random init; the synthetic twin of row 2).
_base_ = ['./rice-icl_clipvit-tiny.py']
model = dict(losses=[
    dict(type='ICLLoss', loss_weight=1.0, scale_init=4.0, learnable_scale=True, gather=True),
    # Width 64 = the tiny encoder's; 8 heads as in V2 (d_h 8). visual_last2 copies its 2 blocks.
    # Weight 0.3, not V2's 1.0 (a CPU-twin setting; the b32 configs keep 1.0): the encoder here is
    # random and trains at the decoder's lr, and at 1.0 PMD's gradients through the tokens cost the
    # embedding most of what ICL taught it. Synthetic MovingFashion, 3 seeds, R@1 / R@10: weight 1.0
    # 3.0±1.7 / 28.8±10.6, 0.3 5.6±2.2 / 38.2±3.0, 0.1 4.9±1.7 / 39.0±7.3 (untrained 2.6 / 18.4,
    # ICL alone 7.1 / 37.1); lr_mult 10, pmd_init='random' and 2,000 iterations helped less.
    dict(type='PMDLoss', width=64, num_heads=8, loss_weight=0.3, num_negatives=3, chunk_anchors=2,
         attn_drop=0.1, score_scale=10.0, pmd_init='visual_last2', gather=True),
])
