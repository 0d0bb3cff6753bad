# CLIP zero-shot (frame mean), baselines.md §3: the OpenAI ViT-B/32 image tower with its released
# weights, read from a local file only: place ViT-B-32.pt (the OpenAI TorchScript archive) under
# $CSA_PRETRAINED (default ./pretrained). Nothing is downloaded; a missing file is an error.
zero_shot = True  # evaluated with `csa-bench test CONFIG`, no checkpoint, never trained
weights_label = 'openai'
method_name = 'CLIP zero-shot meanP (OpenAI ViT-B/32)'
model = dict(
    type='ZeroShotRetriever',
    data_preprocessor=dict(type='RetrievalDataPreprocessor'),  # CLIP mean/std (method.md §1)
    encoder=dict(type='CLIPViTEncoder', arch='ViT-B/32', token_source='hidden',
                 pretrained='{{$CSA_PRETRAINED:pretrained}}/ViT-B-32.pt'),
    # CLIP4Clip meanP: L2-normalise each frame, then the masked mean (baselines.md §3).
    pooling=dict(type='MeanPooling', norm_first=True),
)
