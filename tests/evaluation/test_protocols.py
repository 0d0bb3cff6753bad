"""The registered protocols fix scope, K list, denominator and the leaderboard fields."""

from __future__ import annotations

import pytest

from csa_bench.evaluation.protocols import SEAM_VARIANTS, get_protocol
from csa_bench.registry import PROTOCOLS

EXPECTED = {
    'lpr4m-csa': ('per-group', (1, 3, 5, 10), 'all-gt'),
    'lpr4m-csa-v1': ('per-group', (1, 3, 5, 10), 'predicted'),
    'movingfashion-csa': ('global', (1, 3, 5, 10), 'all-gt'),
    'movingfashion-sgmn-inner': ('same-source', (1, 3, 5, 10), 'predicted'),
    'movingfashion-sgmn-all': ('global', (1, 3, 5, 10), 'predicted'),
    'movingfashion-seam-aggr': ('global', (1, 5, 10, 20), 'all-gt'),
}


@pytest.mark.parametrize('protocol_id, expected', EXPECTED.items())
def test_protocol_fields(protocol_id, expected) -> None:
    protocol = PROTOCOLS.build(dict(type=protocol_id))
    assert (protocol.gallery_scope, protocol.k_list, protocol.denominator) == expected
    assert protocol.id == protocol_id and protocol.gallery_text and protocol.metric_kind and protocol.frames
    described = protocol.describe()
    assert described['id'] == protocol_id and isinstance(described['k_list'], list)


def test_seam_variants_and_overrides() -> None:
    assert {f'movingfashion-seam-{v}' for v in SEAM_VARIANTS} <= set(PROTOCOLS.module_dict)
    assert PROTOCOLS.build(dict(type='lpr4m-csa', k_list=(1, 2))).k_list == (1, 2)
    with pytest.raises(ValueError, match='gallery_scope'):
        PROTOCOLS.build(dict(type='lpr4m-csa', gallery_scope='nowhere'))


def test_lpr4m_group_rule() -> None:
    protocol = get_protocol('lpr4m-csa')
    assert protocol.group_of_query_id('a-b-c-d-e-1690443120000-1690443195000') == 'a-b-c-d-e'
    with pytest.raises(ValueError, match='not an LPR4M clip id'):
        protocol.group_of_query_id('video123')
    with pytest.raises(ValueError, match='cannot derive'):
        get_protocol('movingfashion-csa').group_of_query_id('x')
