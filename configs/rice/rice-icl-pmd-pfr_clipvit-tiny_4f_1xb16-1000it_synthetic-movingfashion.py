# RICE ablation row: ICL + PMD + PFR (full RICE), CPU-sized twin on the synthetic MovingFashion benchmark: tiny CLIP-geometry ViT
# (random init), 4 frames of 64 px, 1,000 iterations, plain fp32 AdamW (see the schedule for the lr).
_base_ = ['../_base_/models/rice-icl-pmd-pfr_clipvit-tiny.py', '../_base_/rice_synthetic-movingfashion_cpu.py']
