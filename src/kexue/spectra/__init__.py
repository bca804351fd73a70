"""LAMOST spectral classification (Tianchi 2018): residual dilated Conv1D + LightGBM on spectral features."""
