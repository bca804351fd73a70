"""Stage 4: train one model (one config and seed). make calls it once per fold, then with --collect."""
from kexue.cail2019 import stages
from kexue.core import cv

cv.train_main(__doc__, stages)
