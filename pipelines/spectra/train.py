"""Stage 4: train one model with k-fold CV. make calls it once per fold, then with --collect."""
from kexue.core import cv
from kexue.spectra import stages

cv.train_main(__doc__, stages)
