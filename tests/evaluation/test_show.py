"""``csa-bench show``: one PNG per query from a dump, with real images and placeholders."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
from PIL import Image

from csa_bench.cli import show
from csa_bench.cli.errors import CliError
from csa_bench.evaluation import RetrievalMetric

from .test_metric import make_predictions


def _args(result, **kw) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    show.add_parser(parser.add_subparsers())
    extra = [x for k, v in kw.items() for x in (f'--{k}', str(v))]
    return parser.parse_args(['show', str(result), *extra])


def test_show_draws_pngs(tmp_path, capsys) -> None:
    preds = make_predictions(n_query=3, n_gallery=4)
    img = tmp_path / 'g0.png'
    Image.fromarray(np.full((40, 30, 3), 128, dtype=np.uint8)).save(img)
    for p in preds:  # one real image; the other paths do not exist (placeholders, reported)
        if p['role'] == 'gallery':
            p['meta']['img_path'] = str(img) if p['sample_id'] == 'img0' else str(tmp_path / 'nope.jpg')
    metric = RetrievalMetric(protocol='lpr4m-csa', dump_dir=str(tmp_path / 'dump'))
    metric.process({}, preds)
    metric.evaluate(len(preds))
    assert show.run(_args(tmp_path / 'dump', queries=2, out=tmp_path / 'fig', topk=3)) == 0
    pngs = sorted((tmp_path / 'fig').glob('*.png'))
    assert len(pngs) == 2
    with Image.open(pngs[0]) as im:
        assert im.size[0] > 100 and im.size[1] > 100
    assert 'placeholders' in capsys.readouterr().out
    with pytest.raises(CliError, match='not an evaluation dump'):
        show.run(_args(tmp_path / 'fig', queries=1))
