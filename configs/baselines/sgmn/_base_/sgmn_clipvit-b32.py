# SGMN-lite (baselines.md §11), full size, quirks as released: the released sizes (the left column of
# the §11.8 "Shrink" table). One OpenAI CLIP ViT-B/32 (224 px, 50 tokens) for frames and shop images,
# D = 512, T = 10; TDB, fusion and decoder with 8 heads, the graph with 16. Text: CLIP's own text tower
# (frozen) embeds the ASR and titles the samples carry, where the release read precomputed 512-d vectors
# of an unstated encoder; both towers load from the same local file ($CSA_PRETRAINED/ViT-B-32.pt,
# nothing is downloaded). MovingFashion has no text: empty strings embed to zeros, as the release's.
sgmn_dim = 512
sgmn_num_frames = 10  # must equal the dataset's T: the graph's top-K and word copies are T
_clip = '{{$CSA_PRETRAINED:pretrained}}/ViT-B-32.pt'
model = dict(
    type='SGMNRetriever',
    data_preprocessor=dict(type='RetrievalDataPreprocessor'),  # CLIP mean/std
    # 'projected' = ln_post + proj on every token, CLS = token 0 (§11.2.1). frozen_stem: the release's
    # --freeze_layer_num 0 freezes the patch conv, class/positional embeddings and ln_pre (§11.4).
    encoder=dict(type='CLIPViTEncoder', arch='ViT-B/32', token_source='projected', frozen_stem=True,
                 pretrained=_clip),
    text_encoder=dict(type='CLIPTextEncoder', arch='ViT-B/32', pretrained=_clip, frozen=True),
    # TDB: 1 difference layer + 2 layers, 8 heads; released repeat(n_head) mask tiling (quirk).
    tdb=dict(type='SGMNTemporalDifferenceBlock', dim=sgmn_dim, num_heads=8, num_layers=2, mask_repeat=True),
    fusion=dict(type='SGMNTextFusion', dim=sgmn_dim, num_heads=8, ffn_dim=1024, dropout=0.1),
    decoder=dict(type='SGMNPairwiseDecoder', dim=sgmn_dim, num_heads=8, dropout=0.1),
    logit_scale=100.0,  # s = 100 in training, 1 at eval (§11.2.3)
    text_weight=0.5,  # cl = vis + 0.5 * txt
    gather=True,  # the release all-gathers before every loss
    decoder_at_eval=True,  # quirk: fused tokens computed at eval; ranking stays embedding-only
    # Loss = txt + base + reg(x10) + gnn + pairwise, all weight 1 (train.py:306).
    losses=[
        dict(type='SGMNTextLoss'),
        dict(type='SGMNTripletLoss', triplet_dim=512),
        # HREM graph: 16 heads, FFN D, threshold 0.5, cross-modal connections (quirk).
        dict(type='SGMNGraphLoss', dim=sgmn_dim, num_frames=sgmn_num_frames, num_heads=16, cross_connect=True,
             triplet_dim=512),
        dict(type='SGMNPairwiseLoss', num_negatives=3, diag=True),  # quirk pairwise_diag
    ],
)
