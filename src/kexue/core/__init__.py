"""What every competition shares: configs, folds, the CV loop, run logs, ensembling, metrics, submissions."""
