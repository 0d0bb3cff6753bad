"""baselines.common: batch-hard triplet and category CE against hand-computed cases; the neck encoder."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from baselines.common.losses import BatchHardTripletLoss, CategoryCELoss, batch_hard_triplet
from csa_bench.registry import MODELS


def _batch(v: torch.Tensor, u: torch.Tensor, labels: list[int], category: list[int] | None = None) -> dict:
    samples = [dict(item_id=f'p{x}') for x in labels]
    return dict(video_emb=v, image_emb=u, labels=torch.tensor(labels),
                category=torch.tensor(category if category is not None else [-1] * len(labels)),
                data_samples=samples)


def test_batch_hard_picks_farthest_positive_and_closest_negative() -> None:
    anchors = torch.tensor([[0.0, 0.0]])
    cands = torch.tensor([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0], [0.0, 5.0]])
    ids = torch.tensor([0, 0, 1, 1])
    loss, active = batch_hard_triplet(anchors, cands, torch.tensor([0]), ids, margin=0.3)
    # hardest positive at distance 3, hardest negative at distance 2: 3 - 2 + 0.3
    assert loss.item() == pytest.approx(1.3) and active.tolist() == [True]


def test_triplet_is_zero_when_pairs_are_separated_by_the_margin() -> None:
    v = F.normalize(torch.eye(4), dim=1)
    loss = BatchHardTripletLoss(margin=0.3)(_batch(v, v.clone(), [0, 1, 2, 3]))
    # positives at distance 0, negatives at sqrt(2) > 0.3
    assert loss['loss_triplet'].item() == 0.0 and loss['triplet_active'].item() == 0.0


def test_triplet_joint_mode_excludes_self_and_counts_both_views() -> None:
    v = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    u = torch.tensor([[0.0, 0.5], [1.0, 0.1]])
    out = BatchHardTripletLoss(margin=0.3, mode='joint')(_batch(v, u, [0, 1]))
    # anchor v0: pos u0 at 0.5, closest negative u1/v1 at 1.0 -> 0; every anchor is separated by >= 0.3
    assert out['loss_triplet'].item() == pytest.approx(0.0)
    v2 = torch.tensor([[0.0, 0.0], [0.6, 0.0]])
    out2 = BatchHardTripletLoss(margin=0.3, mode='joint')(_batch(v2, u, [0, 1]))
    assert out2['loss_triplet'].item() > 0


def test_triplet_falls_back_to_item_ids_when_labels_unknown() -> None:
    v = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.1, 0.0]])
    batch = _batch(v, v.clone(), [0, 1, 0])
    batch['labels'] = torch.tensor([-1, -1, -1])  # unknown: same item_id p0 for samples 0 and 2
    out = BatchHardTripletLoss(margin=0.3)(batch)
    # anchor 0: positives {0, 2} hardest at 0.1, negative at 1.0 -> 0 violations
    assert out['loss_triplet'].item() == pytest.approx(0.0)


def test_triplet_rejects_bad_arguments_and_shapes() -> None:
    with pytest.raises(ValueError, match='mode'):
        BatchHardTripletLoss(mode='semi-hard')
    with pytest.raises(ValueError, match='equal shape'):
        BatchHardTripletLoss()(_batch(torch.zeros(2, 3), torch.zeros(3, 3), [0, 1]))


def test_category_ce_ignores_unknown_labels_and_matches_cross_entropy() -> None:
    torch.manual_seed(0)
    loss = CategoryCELoss(num_classes=3, in_dim=4, scale=2.0)
    v, u = torch.randn(3, 4), torch.randn(3, 4)
    out = loss(_batch(v, u, [0, 1, 2], category=[2, -1, 0]))
    known = torch.tensor([0, 2])
    target = torch.tensor([2, 0])
    expected = 0.5 * (F.cross_entropy(loss.classifier(2.0 * v)[known], target)
                      + F.cross_entropy(loss.classifier(2.0 * u)[known], target))
    assert out['loss_category'].item() == pytest.approx(expected.item(), rel=1e-6)
    assert 0.0 <= out['category_acc'].item() <= 1.0


def test_category_ce_without_known_labels_is_zero_but_attached() -> None:
    loss = CategoryCELoss(num_classes=3, in_dim=4)
    v = torch.randn(2, 4, requires_grad=True)
    out = loss(_batch(v, v, [0, 1], category=[-1, -1]))
    assert out['loss_category'].item() == 0.0
    out['loss_category'].backward()
    assert loss.classifier.weight.grad is not None


def test_category_ce_names_the_config_value_on_out_of_range_labels() -> None:
    with pytest.raises(ValueError, match='num_classes=3'):
        CategoryCELoss(num_classes=3, in_dim=4)(_batch(torch.randn(1, 4), torch.randn(1, 4), [0],
                                                       category=[5]))


def test_category_ce_can_classify_products() -> None:
    loss = CategoryCELoss(num_classes=4, in_dim=4, label_key='labels', name='product')
    out = loss(_batch(torch.randn(2, 4), torch.randn(2, 4), [3, 1]))
    assert set(out) == {'loss_product', 'product_acc'}


def test_gap_neck_encoder_projects_the_pooled_feature() -> None:
    enc = MODELS.build(dict(type='GAPNeckEncoder', embed_dim=16, bn=True,
                            backbone=dict(type='TimmEncoder', model_name='resnet18', embed_dim=None)))
    emb, tokens = enc(torch.randn(2, 3, 64, 64))
    assert emb.shape == (2, 16) and tokens.shape == (2, 4, 512)
    assert enc.embed_dim == 16 and enc.width == 512
