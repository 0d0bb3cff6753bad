# RICE V1 ablation row 3: ICL + PMD + PFR, on LPR4M (released checkpoint: R@1 27.17 under
# lpr4m-csa-v1). Row 2 plus V1's reconstruction (docs/method_v1.md): the raw softmax maps of the
# positive pair without the query's and the frames' CLS tokens, two 1x1 convs with PyTorch's
# default init, no softmax over the keys, weight 0.05.
_base_ = ['./rice-v1-icl-pmd_clipvit-b32_10f_2xb48-1ep_lpr4m.py']
model = dict(losses=[
    dict(type='ICLLoss', loss_weight=1.0, scale_init=10.0, learnable_scale=False, gather=True),
    {{_base_.v1_pmd}},
    dict(type='PFRLoss', num_heads=8, loss_weight=0.05, softmax=False, drop_cls=True, conv_init='default'),
])
