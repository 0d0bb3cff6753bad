"""Registry contract: children of mmengine's roots, scope csa_bench, no shadowed names."""
from __future__ import annotations

import pytest
from mmengine.registry import Registry

from csa_bench.registry import ALL_REGISTRIES, SCOPE

# Registries with no mmengine counterpart.
STANDALONE = {'protocols', 'data_tools', 'checkpoint_converters'}


@pytest.mark.parametrize('name', sorted(ALL_REGISTRIES))
def test_registry_scope_and_parent(name: str) -> None:
    registry = ALL_REGISTRIES[name]
    assert isinstance(registry, Registry)
    assert registry.scope == SCOPE
    if name in STANDALONE:
        assert registry.parent is None
    else:
        assert registry.parent is not None and registry.parent.scope == 'mmengine'
        assert registry.parent.children[SCOPE] is registry


@pytest.mark.parametrize('name', sorted(set(ALL_REGISTRIES) - STANDALONE))
def test_no_name_shadows_mmengine(name: str) -> None:
    """A csa_bench name equal to an mmengine one would silently change what a config builds."""
    registry = ALL_REGISTRIES[name]
    clash = set(registry.module_dict) & set(registry.parent.module_dict)
    assert not clash, f'{name}: {sorted(clash)} shadow mmengine registrations'


def test_registry_objects_are_unique() -> None:
    assert len({id(r) for r in ALL_REGISTRIES.values()}) == len(ALL_REGISTRIES)


def test_core_does_not_import_plugins(repo_root) -> None:
    """The core is loaded like a framework: plugins come only through custom_imports."""
    offenders = []
    for path in (repo_root / 'csa_bench').rglob('*.py'):
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            stripped = line.strip()
            if stripped.startswith(('import plugins', 'from plugins', 'import baselines', 'from baselines')):
                offenders.append(f'{path.relative_to(repo_root)}:{lineno}')
    assert not offenders, offenders


def test_duplicate_registration_is_an_error() -> None:
    from csa_bench.registry import MODELS

    name = sorted(MODELS.module_dict)[0]
    with pytest.raises(KeyError):
        MODELS.register_module(name=name, module=type('Dup', (), {}))
