"""Evaluation protocols as registered objects (protocols.md §1-§8).

A protocol fixes what a number means: the gallery scope, the K list, the denominator rule, the
display scale and the leaderboard description fields. Every metric result carries its id.
``get_protocol('lpr4m-csa')`` returns the frozen :class:`Protocol`; ``PROTOCOLS.build(dict(type=id))``
does the same through the registry (each id is registered as a factory accepting field overrides).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from csa_bench.registry import PROTOCOLS

from .ties import check as check_ties

SCOPES = ('per-group', 'global', 'same-source')


@dataclass(frozen=True)
class Protocol:
    """One evaluation protocol.

    Attributes:
        id: registry id, printed next to every number.
        dataset: dataset family (``lpr4m``, ``movingfashion``).
        gallery_scope: ``'per-group'`` (each query against its ``group_id``'s gallery, LPR4M lives),
            ``'global'`` (one gallery) or ``'same-source'`` (the gallery entries whose
            ``meta['source']`` equals the query's, SGMN in-source).
        k_list: cut-offs of R@K.
        denominator: ``'all-gt'`` (queries without prediction are misses) or ``'predicted'``.
        metric_kind: leaderboard text, e.g. ``hit-rate R@{1,3,5,10} %``.
        scale: display factor (100: printed in percent; SEAM prints fractions, its CSV ×100).
        gallery_text: leaderboard gallery-scope text (§8).
        frames: frame-sampling description (§8).
        query_id_group: how to derive a query's group from its id when no group file says so:
            ``'lpr4m-live-id'`` (first 5 dash fields of the clip id) or ``None``.
        breakdowns: ``meta`` keys reported as ``R@K/<key>=<value>`` breakdowns.
        split: the annotation split it is defined on.
        source: the official code it reproduces.
        tie_order: order of equal scores: ``'index'`` (gallery order, the stable sort of the CSA
            scripts) or ``'numpy-argsort-reversed'`` (SEAM's ``argsort(s)[::-1]``).
        score_dtype: precision the scores are rounded to before ranking (SEAM ranks float16).
    """

    id: str
    dataset: str
    gallery_scope: str
    k_list: tuple[int, ...]
    denominator: str
    metric_kind: str
    scale: float
    gallery_text: str
    frames: str
    query_id_group: str | None = None
    breakdowns: tuple[str, ...] = ()
    split: str = 'test'
    source: str = ''
    tie_order: str = 'index'
    score_dtype: str = 'float32'

    def __post_init__(self) -> None:
        if self.gallery_scope not in SCOPES:
            raise ValueError(f'protocol {self.id}: gallery_scope must be one of {SCOPES}')
        if self.denominator not in ('all-gt', 'predicted'):
            raise ValueError(f'protocol {self.id}: unknown denominator {self.denominator!r}')
        if not self.k_list or any(k < 1 for k in self.k_list):
            raise ValueError(f'protocol {self.id}: k_list must be positive integers, got {self.k_list}')
        try:
            check_ties(self.tie_order, self.score_dtype)
        except ValueError as exc:
            raise ValueError(f'protocol {self.id}: {exc}') from None

    def describe(self) -> dict:
        """The protocol's fields as a plain dict (stored in result JSONs)."""
        out = asdict(self)
        out['k_list'] = list(self.k_list)
        out['breakdowns'] = list(self.breakdowns)
        return out

    def group_of_query_id(self, query_id: str) -> str:
        """Group of a query from its id (``query_id_group`` rule)."""
        if self.query_id_group == 'lpr4m-live-id':
            fields = query_id.split('-')
            if len(fields) < 6:
                raise ValueError(f'query id {query_id!r} is not an LPR4M clip id (live_id-start-end)')
            return '-'.join(fields[:5])
        raise ValueError(f'protocol {self.id} cannot derive a group from the query id {query_id!r}')


def _register(protocol: Protocol) -> Protocol:
    def factory(**overrides: object) -> Protocol:
        return replace(protocol, **overrides) if overrides else protocol

    factory.__name__ = factory.__qualname__ = protocol.id.replace('-', '_')
    factory.__doc__ = f'Protocol {protocol.id}: {protocol.gallery_text}; {protocol.metric_kind}.'
    PROTOCOLS.register_module(name=protocol.id, module=factory)
    return protocol


def get_protocol(protocol_id: str) -> Protocol:
    """The registered protocol ``protocol_id``; the error lists the known ids."""
    if protocol_id not in PROTOCOLS.module_dict:
        raise KeyError(f'unknown protocol {protocol_id!r}; registered: {sorted(PROTOCOLS.module_dict)}')
    return PROTOCOLS.get(protocol_id)()


_HIT = 'hit-rate R@{1,3,5,10} %'
_LPR_FRAMES = 'T<=10 from query_tenframes.json (LPR4M test: 1 frame per 3 s)'
_LPR_BREAKDOWNS = ('product_scale', 'visible_duration', 'product_number')
_MF_FRAMES = '1 fps, T<=10 at floor(i*n/10); frame_source recorded'

_register(
    Protocol(
        id='lpr4m-csa',
        dataset='lpr4m',
        gallery_scope='per-group',
        k_list=(1, 3, 5, 10),
        denominator='all-gt',
        metric_kind=_HIT,
        scale=100.0,
        gallery_text="per-live, main images (gallery_main.txt), ~55/query",
        frames=_LPR_FRAMES,
        query_id_group='lpr4m-live-id',
        breakdowns=_LPR_BREAKDOWNS,
        source='crossview-semantic-alignment@f0baa6f lpr_eval.py',
    )
)
_register(
    Protocol(
        id='lpr4m-csa-v1',
        dataset='lpr4m',
        gallery_scope='per-group',
        k_list=(1, 3, 5, 10),
        denominator='predicted',
        metric_kind=_HIT,
        scale=100.0,
        gallery_text='per-live, main images (-0.jpg listed from folders, sorted by name)',
        frames='T=10 at floor(linspace(0,n,10,endpoint=False)) of query/<clip>/',
        query_id_group='lpr4m-live-id',
        breakdowns=_LPR_BREAKDOWNS,
        source='crossview-semantic-alignment@cc791b3 lpr4m_embedding_eval.py',
    )
)
_register(
    Protocol(
        id='lpr4m-allimages',
        dataset='lpr4m',
        gallery_scope='per-group',
        k_list=(1, 3, 5, 10),
        denominator='all-gt',
        metric_kind=_HIT,
        scale=100.0,
        gallery_text='per-live, all images of test_liveid_to_gallery_110.json, ~603/query',
        frames=_LPR_FRAMES,
        query_id_group='lpr4m-live-id',
        breakdowns=_LPR_BREAKDOWNS,
        source='csa_bench variant (not official)',
    )
)
_register(
    Protocol(
        id='movingfashion-csa',
        dataset='movingfashion',
        gallery_scope='global',
        k_list=(1, 3, 5, 10),
        denominator='all-gt',
        metric_kind=_HIT,
        scale=100.0,
        gallery_text='global, gallery_full.txt, 1,342 entries',
        frames=_MF_FRAMES,
        breakdowns=('source',),
        source='crossview-semantic-alignment@f0baa6f movingfashion_eval.py',
    )
)
_register(
    Protocol(
        id='movingfashion-sgmn-inner',
        dataset='movingfashion',
        gallery_scope='same-source',
        k_list=(1, 3, 5, 10),
        denominator='predicted',
        metric_kind=_HIT,
        scale=100.0,
        gallery_text='same source: test images of the query source (~328 hard / ~1,014 regular)',
        frames='T<=10 at floor(linspace(0,n,10,endpoint=False)) of 1 fps PNGs (video mode)',
        breakdowns=('source',),
        source='SGMN@6690662 eval_mf.py --retrival_scope innersource',
    )
)
_register(
    Protocol(
        id='movingfashion-sgmn-all',
        dataset='movingfashion',
        gallery_scope='global',
        k_list=(1, 3, 5, 10),
        denominator='predicted',
        metric_kind=_HIT,
        scale=100.0,
        gallery_text='global, all test images (allsource)',
        frames='T<=10 at floor(linspace(0,n,10,endpoint=False)) of 1 fps PNGs (video mode)',
        breakdowns=('source',),
        source='SGMN@6690662 eval_mf.py --retrival_scope allsource',
    )
)

#: SEAM variants (protocols.md §4); the detector/tracker parts are outside csa_bench: the protocol
#: fixes the gallery (every test product's shop descriptor), K, the denominator and the display.
SEAM_VARIANTS = {
    'aggr': 'Aggr Desc (temporal aggregator + its matching head)',
    'avg-desc': 'Avg Desc (mean frame descriptor)',
    'product-max': 'Product Max (best frame rank)',
    'per-frame': 'per-frame (each tracked frame ranked; denominator = products x 10)',
    'avg-dist': 'Avg Dist (mean per-frame match probability)',
    'max-dist': 'Max Dist (max per-frame match probability)',
    'max-score': 'Max Score (frame with the highest detection confidence)',
}
for _variant, _text in SEAM_VARIANTS.items():
    _register(
        Protocol(
            id=f'movingfashion-seam-{_variant}',
            dataset='movingfashion',
            gallery_scope='global',
            k_list=(1, 5, 10, 20),
            denominator='all-gt',
            metric_kind=f'top-k acc {{1,5,10,20}} x100 ({_text})',
            scale=100.0,
            gallery_text="global, all test products' shop descriptors (~1.3K)",
            frames='10 frames at sorted uniform-random positions, seeded; noise off unless stated',
            breakdowns=('source',),
            source='SEAM-Match-RCNN@4ca15d1 evaluate_movingfashion.py',
            # The official match probabilities are float16 and ranked by np.argsort(s)[::-1].
            tie_order='numpy-argsort-reversed',
            score_dtype='float16',
        )
    )
