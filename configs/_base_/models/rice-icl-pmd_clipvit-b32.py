# RICE, ICL + PMD (ablation row 2), OpenAI CLIP ViT-B/32 (method.md §5).
_base_ = ['./rice-icl_clipvit-b32.py']
model = dict(losses=[
    dict(type='ICLLoss', loss_weight=1.0, scale_init=4.0, learnable_scale=True, gather=True),
    # Width 768 (hidden tokens), 8 heads (the yaml never sets it: d_h 96 on 12-head weights, §11.4),
    # blocks from CLIP visual blocks 10/11, top-3 hard negatives, 2 anchors per decoder pass.
    dict(type='PMDLoss', width=768, num_heads=8, loss_weight=1.0, num_negatives=3, chunk_anchors=2,
         attn_drop=0.1, score_scale=10.0, pmd_init='visual_last2', gather=True),
])
