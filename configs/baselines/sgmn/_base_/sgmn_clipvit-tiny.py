# SGMN-lite (baselines.md §11.8), CPU twin, quirks as released. Every size is the §11.8 "Shrink"
# table: ViT width 64, 2 layers, 4 heads, patch 16 at 64 px (16 patches + CLS = 17 tokens, the
# table's 32 px / patch 8 geometry at the synthetic benchmark's 64 px), D = 64, 4 heads, T = 4.
sgmn_dim = 64
sgmn_num_frames = 4  # must equal the dataset's T: the graph's top-K and word copies are T (10 released)
model = dict(
    type='SGMNRetriever',
    data_preprocessor=dict(type='RetrievalDataPreprocessor'),  # CLIP mean/std
    # One shared encoder; 'projected' = ln_post + proj on every token, CLS = token 0 (§11.2.1).
    encoder=dict(type='CLIPViTEncoder', token_source='projected',
                 arch=dict(img_size=64, patch_size=16, width=64, layers=2, heads=4, embed_dim=sgmn_dim)),
    # Weight-free text vectors for CPU (the real configs use CLIP's text tower).
    text_encoder=dict(type='HashedBagOfWordsTextEncoder', embed_dim=sgmn_dim),
    # TDB: 1 difference layer + 2 layers; released repeat(n_head) mask tiling (quirk tmc_mask_repeat).
    tdb=dict(type='SGMNTemporalDifferenceBlock', dim=sgmn_dim, num_heads=4, num_layers=2, mask_repeat=True),
    fusion=dict(type='SGMNTextFusion', dim=sgmn_dim, num_heads=4, ffn_dim=2 * sgmn_dim, dropout=0.1),  # FFN 2D
    decoder=dict(type='SGMNPairwiseDecoder', dim=sgmn_dim, num_heads=4, dropout=0.1),
    logit_scale=100.0,  # s = 100 in training, 1 at eval (§11.2.3)
    text_weight=0.5,  # cl = vis + 0.5 * txt
    gather=True,  # the release all-gathers before every loss; identity on one process
    decoder_at_eval=True,  # quirk: fused tokens computed at eval; ranking stays embedding-only
    # Loss = txt + base + reg(x10) + gnn + pairwise, all weight 1 (train.py:306).
    losses=[
        dict(type='SGMNTextLoss'),
        dict(type='SGMNTripletLoss', triplet_dim=512),  # quirk triplet_dim512
        # HREM graph: 4 heads (16 released), FFN D, threshold 0.5, cross-modal connections (quirk).
        dict(type='SGMNGraphLoss', dim=sgmn_dim, num_frames=sgmn_num_frames, num_heads=4, cross_connect=True,
             triplet_dim=512),
        dict(type='SGMNPairwiseLoss', num_negatives=3, diag=True),  # quirk pairwise_diag
    ],
)
