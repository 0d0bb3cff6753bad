"""Text encoders: strings -> (N, D) vectors for the multi-modal baselines (SGMN)."""
