"""Runner glue: checkpoint loading on torch >= 2.6, train/test entry points, hooks, optim."""
from . import checkpoint  # noqa: F401  (installs the torch>=2.6 checkpoint loader)
from . import distributed, precision  # noqa: F401  (register GlobalBatchLogHook, CPUAutocastOptimWrapper)
