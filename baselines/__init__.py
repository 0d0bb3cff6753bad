"""The comparison methods, each a small package registered into the csa_bench core."""
from . import asymnet  # noqa: F401
