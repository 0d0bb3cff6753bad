# Test twin of configs/rice/rice-v1-icl-pmd-pfr_clipvit-b32_10f_2xb48-1ep_lpr4m.py on the tiny CLIP
# and the synthetic LPR4M: the same V1 model options, pipelines, gallery and protocol at 64 px.
_base_ = [
    '../../../configs/_base_/datasets/synthetic_lpr4m.py',
    '../../../configs/_base_/default_runtime.py',
]
v1_pmd = dict(type='PMDLoss', width=32, num_heads=8, attn_drop=0.1, kv_norm=True, query_pos=20, query_pos_drop=0.1,
              cross_out_proj=False, scale_maps=False, ln_eps=1e-12, pooler_bias=True, pooler_act='quick_gelu',
              score='linear', score_scale=100.0, pmd_init='clip_text')
model = dict(
    type='RICERetriever',
    data_preprocessor=dict(type='RetrievalDataPreprocessor'),
    encoder=dict(type='CLIPViTEncoder', arch='tiny', token_source='projected', frozen_stem=True, fp16=True),
    pooling=dict(type='MeanPooling', norm_first=True),
    losses=[dict(type='ICLLoss', loss_weight=1.0, scale_init=10.0, learnable_scale=False, gather=True), v1_pmd,
            dict(type='PFRLoss', num_heads=8, loss_weight=0.05, softmax=False, drop_cls=True, conv_init='default')],
)
num_frames = 10
test_pipeline = [
    dict(type='ListFolderFrames', suffix='.jpg'),
    dict(type='SampleFrames', num_frames=num_frames, mode='v1', test_mode=True),
    dict(type='LoadFrames'),
    dict(type='LoadShopImage'),
    dict(type='PILResizeFrames', size=64, interpolation='bicubic'),
    dict(type='PackRetrievalInputs', num_frames=num_frames),
]
test_dataloader = dict(dataset=dict(type='LPR4MV1Dataset', pipeline=test_pipeline))
val_dataloader = test_dataloader
test_evaluator = dict(type='RetrievalMetric', protocol='lpr4m-csa-v1')
val_evaluator = test_evaluator
test_cfg = dict(type='TestLoop')
train_pipeline = [
    dict(type='SampleFrames', num_frames=num_frames, mode='v2', tail_cut=True, tail_cut_full_only=False),
    dict(type='LoadFrames'),
    dict(type='LoadShopImage'),
    dict(type='PILResizeFrames', size=64, interpolation='bicubic'),
    dict(type='PackRetrievalInputs', num_frames=num_frames),
]
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))
max_iters = 4
optim_wrapper = dict(
    type='OptimWrapper',
    clip_grad=dict(max_norm=1.0),
    optimizer=dict(type='BertAdam', lr=3e-7, warmup=0.1, t_total=max_iters, schedule='warmup_cosine',
                   b1=0.9, b2=0.98, e=1e-6, weight_decay=0.2, max_grad_norm=1.0),
    constructor='NameRuleOptimWrapperConstructor',
    paramwise_cfg=dict(lr_mult_keys=['decoder.', 'attn_head.'], lr_mult=1000.0, no_decay_keys=['bias']),
)
param_scheduler = []
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
default_hooks = dict(checkpoint=dict(interval=max_iters))
