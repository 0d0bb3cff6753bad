# The synthetic MovingFashion benchmark (`csa-bench data synth --format movingfashion`): the raw
# release layout with real mp4 files (2 fps), decoded by decord at 1 fps like the real configs.
# CPU-sized: 4 frames of 64 px; stored frames are 96 px, Resize 72 -> crop 64 (the 256/224 ratio).
dataset_type = 'MovingFashionDataset'
data_root = '{{$CSA_DATA_ROOT:data}}/synthetic-movingfashion'
num_frames = 4  # T: the videos give 7-14 frames at 1 fps; <= 10 candidates, then 4 of them
image_size = 64  # crop side for CPU encoders
resize = 72  # 64 * 8/7
batch_size = 16  # matches the CPU schedules' global batch
test_batch_size = 32
num_workers = 0  # tiny videos; worker processes would cost more than they save on 2 cores

train_pipeline = [
    dict(type='InitVideoReader', fps=1.0, max_frames=10),
    dict(type='SampleFrames', num_frames=num_frames, mode='v2', tail_cut=True),
    dict(type='LoadFrames'),
    dict(type='LoadShopImage'),
    dict(type='ResizeFrames', size=resize, interpolation='bilinear'),
    dict(type='RandomCropFrames', size=image_size),
    dict(type='RandomFlipFrames', prob=0.5),
    dict(type='PackRetrievalInputs', num_frames=num_frames),
]
test_pipeline = [
    dict(type='InitVideoReader', fps=1.0, max_frames=10),
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
    dataset=dict(type=dataset_type, data_root=data_root, split='train', annotation='raw',
                 pipeline=train_pipeline),
)
test_dataloader = dict(
    batch_size=test_batch_size,
    num_workers=num_workers,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='csa_bench.retrieval_collate'),  # scoped: the Runner looks collate fns up in mmengine's root FUNCTIONS
    dataset=dict(type=dataset_type, data_root=data_root, split='test', annotation='raw', multi_gt=False,
                 test_mode=True, pipeline=test_pipeline),
)
val_dataloader = test_dataloader  # the generator writes no separate val split
val_evaluator = dict(type='RetrievalMetric', protocol='movingfashion-csa')
test_evaluator = val_evaluator
