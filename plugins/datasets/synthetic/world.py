"""The synthetic livestream world: shops, products, clip plans and their noisy texts.

Products are *shape family x colour x pattern* combinations; each livestream (shop) draws its
products from a few families and neighbouring colours, so near-duplicates share a shop (the hard
negatives LPR4M documents). A clip plan fixes everything a clip shows (scale, position path,
rotation, occlusion, visible duration, other products in view), and the difficulty columns are
computed from it. Everything derives from one ``numpy.random.Generator``: same seed, same world.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Shape families; the index is the category id.
FAMILIES = ('circle', 'square', 'triangle', 'star', 'hexagon', 'diamond', 'cross', 'capsule')
FAMILY_WORDS = {'circle': ['round', 'circle'], 'square': ['square', 'box'], 'triangle': ['triangle', 'delta'],
                'star': ['star', 'starry'], 'hexagon': ['hexagon', 'honeycomb'], 'diamond': ['diamond',
                                                                                             'rhombus'],
                'cross': ['cross', 'plus'], 'capsule': ['capsule', 'pill']}
CATEGORY_NAMES = {'circle': 'plates', 'square': 'cushions', 'triangle': 'scarves', 'star': 'ornaments',
                  'hexagon': 'tiles', 'diamond': 'earrings', 'cross': 'badges', 'capsule': 'bags'}
#: Named colours (RGB), ordered by hue so that neighbours are near-duplicates.
COLOURS = (('red', (210, 40, 40)), ('coral', (235, 95, 70)), ('orange', (240, 140, 30)),
           ('amber', (235, 185, 35)), ('yellow', (235, 225, 60)), ('lime', (160, 215, 60)),
           ('green', (50, 160, 70)), ('teal', (40, 150, 150)), ('cyan', (60, 195, 225)),
           ('blue', (45, 85, 200)), ('indigo', (75, 55, 160)), ('purple', (140, 60, 170)),
           ('magenta', (210, 60, 160)), ('pink', (240, 140, 180)))
COLOUR_WORDS = {'red': ['red', 'crimson'], 'coral': ['coral', 'salmon'], 'orange': ['orange', 'tangerine'],
                'amber': ['amber', 'golden'], 'yellow': ['yellow', 'lemon'], 'lime': ['lime', 'light green'],
                'green': ['green', 'emerald'], 'teal': ['teal', 'sea green'], 'cyan': ['cyan', 'sky blue'],
                'blue': ['blue', 'royal blue'], 'indigo': ['indigo', 'navy'], 'purple': ['purple', 'violet'],
                'magenta': ['magenta', 'fuchsia'], 'pink': ['pink', 'rose']}
PATTERNS = ('solid', 'stripes', 'dots', 'checks', 'ring')
PATTERN_WORDS = {'solid': ['plain', 'solid'], 'stripes': ['striped', 'stripe'], 'dots': ['dotted',
                                                                                         'polka dot'],
                 'checks': ['checked', 'plaid'], 'ring': ['rimmed', 'outlined']}
FILLER = ('hot sale', 'new arrival', 'limited', 'free shipping', 'best seller', '2024 style', 'premium')
ASR_OPENERS = ('hi everyone look at this', 'ok guys this one is our', 'next up we have the',
               'you can see here the', 'let me show you the')
ASR_FILLER = ('um', 'so', 'yeah', 'really nice', 'very cheap today', 'link number', 'only a few left')


@dataclass
class Product:
    """One shop product (one main shop image)."""

    image_id: str
    family: int
    colour: int
    pattern: int
    accent: tuple[int, int, int]
    title: str = ''

    @property
    def rgb(self) -> tuple[int, int, int]:
        return COLOURS[self.colour][1]


@dataclass
class Shop:
    """One livestream and its shop."""

    live_id: str
    products: list[Product] = field(default_factory=list)
    background: tuple[int, int, int] = (128, 128, 128)


@dataclass
class ClipPlan:
    """Everything one clip shows; rendering it is deterministic given the plan's seed."""

    targets: list[int]            # indices into shop.products: the GT products (1, sometimes 2)
    distractors: list[int]        # other products of the same shop in view
    num_frames: int
    scale: float                  # product size relative to the frame side
    visible: tuple[int, int]      # [first, last) frames where the target is in view
    occlusion: float              # fraction of the product hidden by an occluder
    seed: int

    def difficulty(self) -> dict[str, str]:
        """The LPR4M difficulty columns, from the true values."""
        frac = (self.visible[1] - self.visible[0]) / self.num_frames
        return {'product_scale': 'small' if self.scale < 0.38 else 'medium' if self.scale < 0.55 else 'large',
                'visible_duration': 'short' if frac < 0.5 else 'medium' if frac < 0.8 else 'long',
                'product_number': 'multiple' if self.distractors or len(self.targets) > 1 else 'single'}


def hex_id(rng: np.random.Generator, groups: tuple[int, ...] = (8, 4, 4, 4, 12)) -> str:
    """A UUID-shaped id (dash-separated lowercase hex groups) drawn from ``rng``."""
    return '-'.join(''.join('0123456789abcdef'[d] for d in rng.integers(0, 16, n)) for n in groups)


def make_shops(rng: np.random.Generator, num_shops: int, products_per_shop: int) -> list[Shop]:
    """Draw shops whose products share families and neighbouring colours (near-duplicates)."""
    shops = []
    for _ in range(num_shops):
        shop = Shop(live_id=hex_id(rng), background=tuple(int(c) for c in rng.integers(60, 200, 3)))
        families = rng.choice(len(FAMILIES), size=3, replace=False)
        base = int(rng.integers(0, len(COLOURS)))
        seen = set()
        while len(shop.products) < products_per_shop:
            key = (int(rng.choice(families)), (base + int(rng.integers(-2, 3))) % len(COLOURS),
                   int(rng.integers(0, len(PATTERNS))))
            if key in seen:
                continue
            seen.add(key)
            accent = (245, 245, 240) if rng.random() < 0.5 else (30, 30, 35)
            product = Product(hex_id(rng), *key, accent=accent)
            product.title = make_title(rng, product)
            shop.products.append(product)
        shops.append(shop)
    return shops


def _words(rng: np.random.Generator, product: Product) -> tuple[str, str, str]:
    colour = COLOURS[product.colour][0]
    return (str(rng.choice(COLOUR_WORDS[colour])), str(rng.choice(PATTERN_WORDS[PATTERNS[product.pattern]])),
            str(rng.choice(FAMILY_WORDS[FAMILIES[product.family]])))


def make_title(rng: np.random.Generator, product: Product) -> str:
    """A shop title naming the product's attributes, with marketing noise and dropped words."""
    colour, pattern, shape = _words(rng, product)
    words = [colour, pattern, shape, CATEGORY_NAMES[FAMILIES[product.family]]]
    words = [w for w in words if rng.random() > 0.12] or [shape]
    return ' '.join([str(rng.choice(FILLER))] + words + ([str(rng.choice(FILLER))] if rng.random() < 0.5 else []))


def make_asr(rng: np.random.Generator, shop: Shop, plan: ClipPlan) -> str:
    """A noisy transcript: describes the target, sometimes a wrong colour or another product."""
    product = shop.products[plan.targets[0]]
    if rng.random() < 0.2:  # the host talks about another product of the shop
        product = shop.products[int(rng.integers(0, len(shop.products)))]
    colour, pattern, shape = _words(rng, product)
    if rng.random() < 0.15:
        colour = str(rng.choice(COLOUR_WORDS[COLOURS[int(rng.integers(0, len(COLOURS)))][0]]))
    words = [str(rng.choice(ASR_OPENERS)), colour, pattern, shape]
    words += [str(w) for w in rng.choice(ASR_FILLER, size=int(rng.integers(1, 4)))]
    return ' '.join(words)


def make_plan(rng: np.random.Generator, shop: Shop, target: int, frames: tuple[int, int],
              hard: bool = False, multi_prob: float = 0.1) -> ClipPlan:
    """Draw a clip plan for ``target``; ``hard`` makes it smaller, shorter and more occluded."""
    n = int(rng.integers(frames[0], frames[1] + 1))
    others = [i for i in range(len(shop.products)) if i != target]
    targets = [target]
    if others and rng.random() < multi_prob:
        targets.append(int(rng.choice(others)))
    pool = [i for i in others if i not in targets]
    distractors = [int(i) for i in rng.choice(pool, size=min(len(pool), int(rng.integers(1, 3))),
                                              replace=False)] \
        if pool and rng.random() < 0.45 else []
    scale = float(rng.uniform(0.25, 0.45) if hard else rng.uniform(0.3, 0.7))
    frac = float(rng.uniform(0.3, 0.7) if hard else rng.uniform(0.4, 1.0))
    length = max(1, int(round(frac * n)))
    start = int(rng.integers(0, n - length + 1))
    occlusion = float(rng.uniform(0.2, 0.45) if hard else rng.uniform(0.0, 0.3))
    return ClipPlan(targets, distractors, n, scale, (start, start + length), occlusion,
                    seed=int(rng.integers(0, 2**31 - 1)))
