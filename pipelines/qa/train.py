"""Stage 5: train one model (one config and seed). make calls it once per fold, then with --collect."""
from kexue.core import cv
from kexue.qa import stages

cv.train_main(__doc__, stages)
