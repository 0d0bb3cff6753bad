# TimeSformer-lite, full size (baselines.md §8): ViT-B/16 at 224 px, T = 10, both towers initialised
# from a local ImageNet ViT in timm's format ($CSA_PRETRAINED/vit_base_patch16_224.pth; nothing is
# downloaded; temporal layers start from zero-initialised temporal_fc as in the official code).
_tower = dict(type='TimeSformerEncoder', img_size=224, patch_size=16, width=768, depth=12, num_heads=12,
              embed_dim=512, pretrained='{{$CSA_PRETRAINED:pretrained}}/vit_base_patch16_224.pth')
model = dict(
    type='ClipLevelRetriever',
    # mean = std = 0.5 (0-255 scale): timm's vit_base_patch16_224 (augreg) input normalisation.
    data_preprocessor=dict(type='RetrievalDataPreprocessor', mean=(127.5, 127.5, 127.5),
                           std=(127.5, 127.5, 127.5)),
    encoder=dict(_tower, temporal=True, num_frames=10),
    image_encoder=dict(_tower, temporal=False, num_frames=0),
    losses=[dict(type='ICLLoss', loss_weight=1.0, scale_init=4.0, learnable_scale=True, gather=True)],
)
