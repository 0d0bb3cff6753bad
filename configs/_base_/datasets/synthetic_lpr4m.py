# The synthetic LPR4M benchmark (`csa-bench data synth --format lpr4m`), in the LPR750K layout.
# CPU-sized: 4 frames of 64 px. The stored frames are 96 px, so Resize 72 -> crop 64 keeps the V2
# recipe's shape (resize to 8/7 of the crop, then crop; 256 -> 224 in the real configs).
dataset_type = 'LPR4MDataset'
data_root = '{{$CSA_DATA_ROOT:data}}/synthetic-lpr4m'
num_frames = 4  # T: the generated clips hold 7-14 frames; 4 keep a CPU step around a second
image_size = 64  # crop side: small encoders train at 64 px on CPU
resize = 72  # 64 * 8/7 (the real 256/224 ratio)
batch_size = 16  # matches the CPU schedules' global batch (rice_adamw-1000it_cpu.py)
test_batch_size = 32
num_workers = 0  # 96-px JPEGs decode in well under a millisecond; worker processes cost more

train_pipeline = [
    dict(type='SampleFrames', num_frames=num_frames, mode='v2', tail_cut=True),
    dict(type='LoadFrames'),
    dict(type='LoadShopImage'),
    dict(type='ResizeFrames', size=resize, interpolation='bilinear'),
    dict(type='RandomCropFrames', size=image_size),
    dict(type='RandomFlipFrames', prob=0.5),
    dict(type='PackRetrievalInputs', num_frames=num_frames),
]
test_pipeline = [
    dict(type='SampleFrames', num_frames=num_frames, mode='v2', test_mode=True),
    dict(type='LoadFrames'),
    dict(type='LoadShopImage'),
    dict(type='ResizeFrames', size=resize, interpolation='bilinear'),
    dict(type='CenterCropFrames', size=image_size),
    dict(type='PackRetrievalInputs', num_frames=num_frames),
]

train_dataloader = dict(
    batch_size=batch_size,
    num_workers=num_workers,
    sampler=dict(type='InfiniteSampler', shuffle=True),  # iteration-based training
    collate_fn=dict(type='csa_bench.retrieval_collate'),  # scoped: the Runner looks collate fns up in mmengine's root FUNCTIONS
    dataset=dict(type=dataset_type, data_root=data_root, split='train', pipeline=train_pipeline),
)
test_dataloader = dict(
    batch_size=test_batch_size,
    num_workers=num_workers,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='csa_bench.retrieval_collate'),  # scoped: the Runner looks collate fns up in mmengine's root FUNCTIONS
    # Main images only, per livestream: the same protocol as the real LPR4M (lpr4m-csa).
    dataset=dict(type=dataset_type, data_root=data_root, split='test', gallery='main', test_mode=True,
                 pipeline=test_pipeline),
)
val_dataloader = test_dataloader  # the generator writes no separate val split
val_evaluator = dict(type='RetrievalMetric', protocol='lpr4m-csa')
test_evaluator = val_evaluator
