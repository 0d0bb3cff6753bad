"""The comparison methods, each a small package registered into the csa_bench core."""
from . import asymnet  # noqa: F401
from . import seam  # noqa: F401
from . import common  # noqa: F401
from . import clip_zeroshot  # noqa: F401
from . import fashionnet  # noqa: F401
from . import nvan  # noqa: F401
from . import timesformer  # noqa: F401
from . import sgmn  # noqa: F401
from . import swin  # noqa: F401
from . import dprnet  # noqa: F401
