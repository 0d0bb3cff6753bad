"""``python -m csa_bench``: the same CLI as ``csa-bench``."""
import sys

from csa_bench.plugin_loader import drop_script_cwd  # stdlib imports only

drop_script_cwd()   # `python -m` put the current directory first on sys.path: never import from it

from csa_bench.cli import main  # noqa: E402  (after the sys.path fix)

sys.exit(main())
