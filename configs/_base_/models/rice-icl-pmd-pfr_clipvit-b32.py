# RICE, ICL + PMD + PFR (ablation row 3, the full model), OpenAI CLIP ViT-B/32 (method.md §6-§7).
_base_ = ['./rice-icl_clipvit-b32.py']
model = dict(losses=[
    dict(type='ICLLoss', loss_weight=1.0, scale_init=4.0, learnable_scale=True, gather=True),
    dict(type='PMDLoss', width=768, num_heads=8, loss_weight=1.0, num_negatives=3, chunk_anchors=2,
         attn_drop=0.1, score_scale=10.0, pmd_init='visual_last2', gather=True),
    # After PMD: reads its positive-pair attention maps. Weight 1 (V2; V1 used 0.05). Padded frames
    # get no softmax mass (csa_bench fix of §11.5; mask_padded=False reproduces the official leak).
    dict(type='PFRLoss', num_heads=8, loss_weight=1.0, mask_padded=True),
])
