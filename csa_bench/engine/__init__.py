"""Runner glue: checkpoint loading on torch >= 2.6, train/test entry points, hooks, optim."""
from . import checkpoint  # noqa: F401  (installs the torch>=2.6 checkpoint loader)
from . import distributed, precision  # noqa: F401  (register GlobalBatchLogHook, CPUAutocastOptimWrapper)
from . import optim_constructor  # noqa: F401  (registers NameRuleOptimWrapperConstructor)
from . import hooks  # noqa: F401  (registers NonFiniteLossHook, RNGStateHook)
from . import validation  # noqa: F401  (config check before the Runner is built)
from . import bad_samples  # noqa: F401  (registers BadSampleReportHook)
