"""An external csa_bench plugin package (docs/plugin_authoring.md).

Importing the package registers its modules in csa_bench's registries; a config lists it in
``custom_imports`` so that mmengine imports it before building anything.
"""
from . import pooling  # noqa: F401  (registers MaskedMaxPooling)
