# The folds of one run as separate targets, so `make -j` trains them in parallel. Called by train_model
# (mk/cv.mk) with:
#   RUN_DIR     the run folder           NFOLDS  number of folds
#   TRAIN       the train command (takes --fold K [--redo] or --collect)
#   DEPS        files whose change makes a finished fold stale (the params, the data, the code stamp)
#   CODE_STAMP  where the fold's process records the code it imported (kexue.core.codestamp)
FOLD_DONE := $(foreach k,$(shell seq 0 $$(($(NFOLDS) - 1))),$(RUN_DIR)/fold$(k)/done.json)

$(RUN_DIR)/cv.json: $(FOLD_DONE)
	@$(TRAIN) --collect

# --redo: make only calls this for a missing or stale fold; a stale one is discarded and
# retrained, a missing one resumes from its checkpoints
$(RUN_DIR)/fold%/done.json: $(DEPS)
	@KEXUE_CODE_STAMP=$(CODE_STAMP) $(TRAIN) --fold $* --redo

# a code stamp not written yet (the first run) is not an error: its fold is missing anyway
$(DEPS): ;
