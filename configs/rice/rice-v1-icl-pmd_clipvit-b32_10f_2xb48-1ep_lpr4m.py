# RICE V1 ablation row 2: ICL + PMD, on LPR4M (released checkpoint: R@1 25.99 under lpr4m-csa-v1,
# embedding similarity only). The V1 row 1 config plus the CLIP4Clip-era decoder
# (docs/method_v1.md): 512-d projected tokens, 8 heads, 77 learned query positions (dropout 0.1)
# initialised with the self block from the CLIP text tower, K/V normalised with the query's LN, a
# cross block without output projection, LN eps 1e-12 throughout, a biased QuickGELU pooler and the
# linear score 100·(w·p + b).
_base_ = ['./rice-v1-icl_clipvit-b32_10f_2xb48-1ep_lpr4m.py']
v1_pmd = dict(
    type='PMDLoss', width=512, num_heads=8, loss_weight=1.0, num_negatives=3, chunk_anchors=2, attn_drop=0.1,
    kv_norm=True, query_pos=77, query_pos_drop=0.1, cross_out_proj=False, scale_maps=False, ln_eps=1e-12,
    pooler_bias=True, pooler_act='quick_gelu', score='linear', score_scale=100.0, gather=True,
    pmd_init='clip_text', pretrained='{{$CSA_PRETRAINED:pretrained}}/ViT-B-32.pt')
model = dict(losses=[
    dict(type='ICLLoss', loss_weight=1.0, scale_init=10.0, learnable_scale=False, gather=True),
    v1_pmd,
])
