# RICE ablation row: ICL only, CPU-sized twin on the synthetic LPR4M benchmark: tiny CLIP-geometry ViT
# (random init), 4 frames of 64 px, 1,000 iterations, plain fp32 AdamW (see the schedule for the lr).
_base_ = ['../_base_/models/rice-icl_clipvit-tiny.py', '../_base_/rice_synthetic-lpr4m_cpu.py']
