# LPR4M (LPR750K package or the full-release layout, auto-detected; datasets.md §2-4).
# Training: clip-image pairs; val/test: the official test set (queries ranked against the main
# images of their own livestream, protocol lpr4m-csa). The official code has no separate val set
# and evaluates on test, so val = test here; override val_dataloader to hold one out.
dataset_type = 'LPR4MDataset'
data_root = '{{$CSA_DATA_ROOT:data}}/lpr4m'
num_frames = 10  # T: 10 frames per clip (method.md §0)
# Per-process batches: the global 96 of the V2 yaml over 2 GPUs (method.md §0); rows that state
# global_batch_size get train_dataloader.batch_size derived from it and the world size.
batch_size = 48
test_batch_size = 64  # inference only: larger batches are fine
num_workers = 8  # JPEG decoding of 10 frames + 1 image per sample is the bottleneck on a GPU node

# V2 augmentation (method.md §1): per-frame independent Resize 256² -> RandomCrop 224 -> HFlip;
# tail cut in training only. Pixels stay uint8: CLIP normalisation is the data preprocessor's.
train_pipeline = [
    dict(type='SampleFrames', num_frames=num_frames, mode='v2', tail_cut=True),
    dict(type='LoadFrames'),
    dict(type='LoadShopImage'),
    dict(type='ResizeFrames', size=256, interpolation='bilinear'),
    dict(type='RandomCropFrames', size=224),
    dict(type='RandomFlipFrames', prob=0.5),
    dict(type='PackRetrievalInputs', num_frames=num_frames),
]
# Eval: Resize 256² -> CenterCrop 224, deterministic (no test-time tail cut, method.md §11.1).
# tta=none. The published numbers were measured with the tail cut on at test time too
# (tta=official-tailcut): --cfg-options test_dataloader.dataset.pipeline.0.test_tail_cut=True
# tta=official-tailcut (docs/pipelines.md, "Test-time tail cut").
test_pipeline = [
    dict(type='SampleFrames', num_frames=num_frames, mode='v2', test_mode=True),
    dict(type='LoadFrames'),
    dict(type='LoadShopImage'),
    dict(type='ResizeFrames', size=256, interpolation='bilinear'),
    dict(type='CenterCropFrames', size=224),
    dict(type='PackRetrievalInputs', num_frames=num_frames),
]

train_dataloader = dict(
    batch_size=batch_size,
    num_workers=num_workers,
    persistent_workers=True,
    # Iteration-based training: an endless shuffled stream (IterBasedTrainLoop).
    sampler=dict(type='InfiniteSampler', shuffle=True),
    # Lists of per-sample dicts (pseudo_collate would turn them into dicts of lists);
    # the data preprocessor stacks. It also drops samples skipped by on_bad_sample='skip'.
    collate_fn=dict(type='csa_bench.retrieval_collate'),  # scoped: the Runner looks collate fns up in mmengine's root FUNCTIONS
    dataset=dict(type=dataset_type, data_root=data_root, split='train', pipeline=train_pipeline),
)
test_dataloader = dict(
    batch_size=test_batch_size,
    num_workers=num_workers,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='csa_bench.retrieval_collate'),  # scoped: the Runner looks collate fns up in mmengine's root FUNCTIONS
    # gallery='main': only the -0 main images (protocol lpr4m-csa, datasets.md §1).
    dataset=dict(type=dataset_type, data_root=data_root, split='test', gallery='main', test_mode=True,
                 pipeline=test_pipeline),
)
val_dataloader = test_dataloader
val_evaluator = dict(type='RetrievalMetric', protocol='lpr4m-csa')
test_evaluator = val_evaluator
