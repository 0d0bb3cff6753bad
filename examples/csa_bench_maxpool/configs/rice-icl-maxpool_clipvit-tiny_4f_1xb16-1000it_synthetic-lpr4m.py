# The RICE ICL row on the synthetic LPR4M benchmark with the plugin's pooling instead of the mean.
# Written from the csa_bench checkout's examples/ folder: the base is the project's own config.
_base_ = ['../../../configs/rice/rice-icl_clipvit-tiny_4f_1xb16-1000it_synthetic-lpr4m.py']
# A child's custom_imports replaces the base list: keep the project's packages and add the plugin.
custom_imports = dict(imports=['plugins', 'baselines', 'csa_bench_maxpool'], allow_failed_imports=False)
model = dict(pooling=dict(_delete_=True, type='MaskedMaxPooling'))
method_name = 'RICE ICL, max pooling (example plugin)'  # the leaderboard's method column
