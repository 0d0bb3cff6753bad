"""Runner glue: checkpoint loading on torch >= 2.6, train/test entry points, hooks, optim."""
from . import (  # noqa: F401  (register GlobalBatchLogHook, CPUAutocastOptimWrapper)
    bad_samples,  # noqa: F401  (registers BadSampleReportHook)
    checkpoint,  # noqa: F401  (installs the torch>=2.6 checkpoint loader)
    distributed,
    hooks,  # noqa: F401  (registers NonFiniteLossHook, RNGStateHook)
    optim_constructor,  # noqa: F401  (registers NameRuleOptimWrapperConstructor)
    precision,
    validation,  # noqa: F401  (config check before the Runner is built)
)
