# RICE, ICL + PMD + PFR on the tiny CLIP-geometry ViT (random init; the synthetic twin of row 3).
_base_ = ['./rice-icl_clipvit-tiny.py']
model = dict(losses=[
    dict(type='ICLLoss', loss_weight=1.0, scale_init=4.0, learnable_scale=True, gather=True),
    # PMD at 0.3 as in the ICL + PMD twin (see rice-icl-pmd_clipvit-tiny.py for the measurements).
    dict(type='PMDLoss', width=64, num_heads=8, loss_weight=0.3, num_negatives=3, chunk_anchors=2,
         attn_drop=0.1, score_scale=10.0, pmd_init='visual_last2', gather=True),
    # after PMD (reads its maps). Weight 0.05, the V1 option (method.md §7/§10), not V2's 1.0: on this
    # random-init tiny encoder, PFR at 1.0 pulled R@1 on synthetic-lpr4m *below* the untrained encoder
    # (16.8 ± 7.4 vs ICL+PMD 22.1 ± 1.8, 3 seeds, both with PMD at 1.0) — V2 applies it to pretrained CLIP tokens at an encoder
    # lr of 1e-6; here the encoder trains at 1e-3 and the reconstruction target is random features.
    dict(type='PFRLoss', num_heads=8, loss_weight=0.05, mask_padded=True),
])
