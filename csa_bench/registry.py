"""The registries of csa_bench: children of mmengine's roots, scope ``csa_bench``.

Every plugin package (``plugins``, ``baselines`` or a third-party one) registers into these.
The core never imports a plugin package: configs load them through ``custom_imports``.
``locations`` lets mmengine import the core modules lazily when a config names this scope.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import Registry

SCOPE = 'csa_bench'
# Core packages imported lazily when a registry of this scope is first searched, so a config that
# names e.g. a core hook builds without anyone importing csa_bench.engine first.
CORE_LOCATIONS = ['csa_bench.datasets', 'csa_bench.models', 'csa_bench.evaluation', 'csa_bench.engine']

# Datasets (LPR4M, MovingFashion, synthetic): BaseDataset subclasses yielding sample dicts.
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, scope=SCOPE, locations=CORE_LOCATIONS)
# Data transforms: frame sampling, decoding, pixel transforms, packing.
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS, scope=SCOPE, locations=CORE_LOCATIONS)
# Samplers for the train/test dataloaders.
DATA_SAMPLERS = Registry('data sampler', parent=MMENGINE_DATA_SAMPLERS, scope=SCOPE, locations=CORE_LOCATIONS)
# Every nn.Module: *Encoder, *Pooling, *Head, *Loss, *Retriever, *DataPreprocessor.
MODELS = Registry('model', parent=MMENGINE_MODELS, scope=SCOPE, locations=CORE_LOCATIONS)
# Model wrappers (DDP variants).
MODEL_WRAPPERS = Registry('model_wrapper', parent=MMENGINE_MODEL_WRAPPERS, scope=SCOPE, locations=CORE_LOCATIONS)
# Retrieval metrics (thin BaseMetric adapters over csa_bench.evaluation.functional).
METRICS = Registry('metric', parent=MMENGINE_METRICS, scope=SCOPE, locations=CORE_LOCATIONS)
# Evaluators.
EVALUATOR = Registry('evaluator', parent=MMENGINE_EVALUATOR, scope=SCOPE, locations=CORE_LOCATIONS)
# Runner hooks (bad-sample reports, NaN guard, ...).
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope=SCOPE,
                 locations=['csa_bench.engine', 'csa_bench.evaluation'])
# Train/val/test loops.
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, scope=SCOPE, locations=CORE_LOCATIONS)
# Optimizers.
OPTIMIZERS = Registry('optimizer', parent=MMENGINE_OPTIMIZERS, scope=SCOPE, locations=CORE_LOCATIONS)
# Optimizer wrappers.
OPTIM_WRAPPERS = Registry('optim_wrapper', parent=MMENGINE_OPTIM_WRAPPERS, scope=SCOPE, locations=CORE_LOCATIONS)
# Optimizer-wrapper constructors (the recipe's name-based lr / decay groups).
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor', parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS, scope=SCOPE,
    locations=CORE_LOCATIONS)
# Learning-rate and momentum schedulers.
PARAM_SCHEDULERS = Registry('parameter scheduler', parent=MMENGINE_PARAM_SCHEDULERS, scope=SCOPE,
                            locations=CORE_LOCATIONS)
# Plain functions referenced from configs (collate functions).
FUNCTIONS = Registry('function', parent=MMENGINE_FUNCTIONS, scope=SCOPE, locations=CORE_LOCATIONS)
# Evaluation protocols (lpr4m-csa, movingfashion-csa, ...): no mmengine root exists for these.
PROTOCOLS = Registry('protocol', scope=SCOPE, locations=CORE_LOCATIONS)
# Converters of the authors' released checkpoints into our models' state dicts (csa_bench/checkpoints/).
CHECKPOINT_CONVERTERS = Registry('checkpoint converter', scope=SCOPE)

#: Every registry above, by the name ``csa-bench list`` shows.
ALL_REGISTRIES: dict[str, Registry] = {
    'datasets': DATASETS, 'transforms': TRANSFORMS, 'data_samplers': DATA_SAMPLERS, 'models': MODELS,
    'model_wrappers': MODEL_WRAPPERS, 'metrics': METRICS, 'evaluator': EVALUATOR, 'hooks': HOOKS,
    'loops': LOOPS, 'optimizers': OPTIMIZERS, 'optim_wrappers': OPTIM_WRAPPERS,
    'optim_wrapper_constructors': OPTIM_WRAPPER_CONSTRUCTORS, 'param_schedulers': PARAM_SCHEDULERS,
    'functions': FUNCTIONS, 'protocols': PROTOCOLS, 'checkpoint_converters': CHECKPOINT_CONVERTERS,
}

# Dataset-format tools (``csa-bench data synth|check``): one object per on-disk format, exposing
# ``synthesize(out, seed, size)`` and ``check(root, workers)``; registered by dataset plugins.
DATA_TOOLS = Registry('data tool', scope=SCOPE)
ALL_REGISTRIES['data_tools'] = DATA_TOOLS
