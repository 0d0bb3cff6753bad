"""``python -m csa_bench``: the same CLI as ``csa-bench``."""
import sys

from csa_bench.cli import main

sys.exit(main())
