# NVAN-lite, tiny size (baselines.md §7): random-init quarter-width ResNet-18 with a non-local block
# after stages 3 and 4 over (T, h, w); spatio-temporal GAP -> Linear(128, 512) -> BN-neck -> L2; shop
# images are 1-frame clips through the same network. Category CE + batch-hard triplet.
num_categories = 34  # LPR4M's 34 categories (datasets.md); dataset configs override the CE head
model = dict(
    type='ClipLevelRetriever',  # the network sees all frames of a clip jointly
    data_preprocessor=dict(type='RetrievalDataPreprocessor'),
    # Quarter-width ResNet-18 (channels 16..128, stem 16): the CPU twin that fits the ≲40 s synthetic
    # training budget (the same trunk as SEAM-lite's tiny config).
    encoder=dict(type='NVANEncoder', model_name='resnet18', embed_dim=512, non_local_stages=(3, 4),
                 pretrained=None, channels=(16, 32, 64, 128), stem_width=16),
    losses=[
        # Re-ID style (NVAN trains with batch-hard triplet over all clips in the batch): clips and shop
        # images are anchors and candidates of one another; margin 0.3 (baselines.md §2).
        dict(type='BatchHardTripletLoss', margin=0.3, mode='joint'),
        # ID loss on categories; scale 16 (NormFace) because the classifier sees L2-normalised embeddings.
        dict(type='CategoryCELoss', num_classes=num_categories, in_dim=512, loss_weight=1.0, scale=16.0),
    ],
)
