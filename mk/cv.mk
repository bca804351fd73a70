# What every competition's make rules share: code stamps, the model-training recipe, stage variables.
#
# A stage reruns exactly when a file it reads changed in content: its data (manifests keep their mtime when
# their content does), its resolved config (rewritten only when a value changes), and its code: the stamp
# <interim>/code/<stage>.json lists the kexue modules and the pipeline script the stage imported, with their
# code hashes (kexue.core.codestamp: comments and docstrings do not count). Run a stage's command with
# $(STAMP) in front so it records into its stamp.

# the stamp of the target being made: <dir>/code/<target name without its extension>.json
code_stamp = $(dir $(1))code/$(basename $(notdir $(1))).json
STAMP = KEXUE_CODE_STAMP=$(call code_stamp,$@)

# every stamp of a competition is checked by one process before make compares mtimes
%/code/.checked: FORCE | $(VENV_OK)
	@mkdir -p $(dir $@) && $(PY) -m kexue.core.codestamp check $(dir $@) --label $(notdir $(patsubst %/code/.checked,%,$@))

# A make variable as a file whose content is its value, rewritten only when the value changes: a stage that
# depends on it reruns when the variable does (make nl2sql-submit NL_SUBMIT=bert.s42 after the ensemble).
# $(call var_stamp,<file>,<value>) in the recipe of a FORCE target.
var_stamp = mkdir -p $(dir $(1)) && if [ "$$(cat $(1) 2>/dev/null)" != "$(2)" ]; then printf '%s\n' "$(2)" > $(1); fi

# The recipe of <int>/<model>.trained: the run id the params map to, every fold (mk/folds.mk: each a target of
# its own, stale when a prerequisite of this rule changed), then <model>.run pointing at the finished run.
#   $(call train_model,<label>,<runs dir>,<train command>,<folds.npy>)
# The rule's first prerequisite is the resolved params; all of them ($^) make a finished fold stale.
define train_model
@run=$$($(3) --params $< --print-run-id) && echo "[$(1)] $* -> run $(2)/$$run" && \
n=$$($(PY) -c "import numpy as np; print(int(np.load('$(4)').max()) + 1)") && \
$(MAKE) --no-print-directory -f mk/folds.mk RUN_DIR=$(2)/$$run NFOLDS=$$n TRAIN="$(3) --params $<" \
  DEPS="$^" CODE_STAMP=$(call code_stamp,$@) $(foreach k,$(FOLDS),$(2)/$$run/fold$(k)/done.json) && \
$(if $(FOLDS),echo "[$(1)] $* folds $(FOLDS) done here; make without FOLDS (on any machine) trains what is left and collects",\
$(PY) -m kexue.core.runlog $(2)/$$run $(basename $@).run)
$(if $(FOLDS),,@touch $@)
endef
ifneq ($(strip $(FOLDS)),)
ifneq ($(filter spectra cail %-ensemble %-submit %-blend %-evaluate,$(MAKECMDGOALS)),)
$(error FOLDS="$(FOLDS)" trains only some folds of a model, so nothing after training can run; name model targets (e.g. make spectra-lgbm FOLDS="$(FOLDS)"), then run the rest without FOLDS)
endif
endif
# FOLDS="0 1": train only these folds of each model this make call trains, and neither collect nor mark the model
# trained: machines sharing DATA_DIR split a run's folds among them (docs/tuning.md, "Several machines")
