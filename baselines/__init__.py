"""The comparison methods, each a small package registered into the csa_bench core."""
from . import (
    asymnet,  # noqa: F401
    clip_zeroshot,  # noqa: F401
    common,  # noqa: F401
    dprnet,  # noqa: F401
    fashionnet,  # noqa: F401
    nvan,  # noqa: F401
    seam,  # noqa: F401
    sgmn,  # noqa: F401
    swin,  # noqa: F401
    timesformer,  # noqa: F401
)
