# LAMOST spectra (Tianchi 2018): preprocess -> folds -> features -> cnn, lgbm, flux_lr, flux_rf, flux_knn -> ensemble
# -> submit
SP_CFG      := configs/spectra
SP_DATA_CFG ?= $(SP_CFG)/data.yaml
SP_SOURCE   ?= auto
SP_MODELS   ?= cnn lgbm flux_lr flux_rf
SP_SEEDS    ?=
SP_SUBMIT   ?= ensemble
SP_INT      := $(DATA_DIR)/interim/spectra
SP_STORE    := $(DATA_DIR)/processed/spectra
SP_FEAT     := $(DATA_DIR)/features/spectra
SP_RUNS     := $(DATA_DIR)/runs/spectra
SP_SUBS     := $(SUBMISSIONS_DIR)/spectra
SP_CODE     := $(SP_INT)/code
SP_PIPE     := pipelines/spectra
SP_DATA_ARGS = --config $(SP_DATA_CFG) --source $(SP_SOURCE) --set 'sample_dir=$(DATA_DIR)/sample/spectra' $(call sets,data)
# one member run per model config, or per (model config, seed) with SP_SEEDS="1 2 3": cnn.s1, cnn.s2, ... (a seed
# bag: the blend scores each seed alone and their mean, so the bag's gain is in its log and in make compare)
SP_MEMBERS   = $(if $(strip $(SP_SEEDS)),$(foreach m,$(SP_MODELS),$(foreach s,$(SP_SEEDS),$(m).s$(s))),$(SP_MODELS))
SP_INPUTS    = --store $(SP_STORE) --features $(SP_FEAT) --runs $(SP_RUNS) --predict-set $(SP_INT)/predict_set.json
SP_TRAIN     = $(PY) $(SP_PIPE)/train.py $(SP_INPUTS)

.PHONY: spectra spectra-preprocess spectra-folds spectra-features spectra-cnn spectra-lgbm spectra-flux_lr spectra-flux_rf \
        spectra-flux_knn spectra-ensemble spectra-submit spectra-compare spectra-clean spectra-tune

spectra: spectra-submit  ## LAMOST spectra, end to end: preprocess, features, cnn, lgbm, flux_lr, flux_rf, ensemble, submit
spectra-preprocess: $(SP_INT)/preprocess.done  ## validate the spectra files and build the array store
spectra-folds: $(SP_INT)/folds.done  ## stratified k-fold assignment shared by all models
spectra-features: $(SP_FEAT)/manifest.json  ## hand-crafted spectral features for LightGBM
spectra-cnn: $(SP_INT)/cnn.run ## residual dilated Conv1D, k-fold CV (folds run in parallel with make -j)
spectra-lgbm: $(SP_INT)/lgbm.run  ## LightGBM on the spectral features, same folds
spectra-flux_lr: $(SP_INT)/flux_lr.run  ## logistic regression on the binned flux, same folds
spectra-flux_rf: $(SP_INT)/flux_rf.run  ## random forest on the binned flux, same folds
spectra-flux_knn: $(SP_INT)/flux_knn.run  ## nearest training spectra in a PCA of the binned flux, same folds
spectra-train-%: $(SP_INT)/%.run  ## any model config: configs/spectra/<name>.yaml
	@:
spectra-ensemble: $(SP_INT)/ensemble.run  ## blend SP_MODELS: candidates scored and chosen by nested cross-fitting
spectra-submit: $(SP_INT)/submit.done  ## write submissions/spectra/<run>.csv, validated
spectra-compare: $(VENV_OK)  ## same as make compare COMP=spectra
	@$(PY) -m kexue.core.compare spectra --runs $(DATA_DIR)/runs
spectra-clean:  ## delete the spectra stage outputs (keeps data/raw, runs and submissions)
	rm -rf $(SP_INT) $(SP_STORE) $(SP_FEAT) $(DATA_DIR)/sample/spectra

# ---- resolved configs: rewritten only when a value changes (edit, override, data source)
$(SP_INT)/source.json: FORCE | $(VENV_OK)
	@$(PY) $(SP_PIPE)/preprocess.py $(SP_DATA_ARGS) --stamp $@
$(SP_INT)/folds.json: FORCE | $(VENV_OK)
	@$(PY) -m kexue.core.config $(SP_DATA_CFG) --select folds --out $@ $(call sets,data)
$(SP_INT)/predict_set.json: FORCE | $(VENV_OK)
	@$(PY) -m kexue.core.config $(SP_DATA_CFG) --select predict_set --out $@ $(call sets,data)
$(SP_INT)/%.params.json: FORCE | $(SP_INT)/preprocess.done
	@$(PY) -m kexue.core.config $(SP_CFG)/$(basename $*).yaml --out $@ --profile-from $(SP_STORE)/manifest.json \
	  $(call sets,$(basename $*)) $(if $(filter .s%,$(suffix $*)),--set 'seed=$(patsubst .s%,%,$(suffix $*))') \
	  $(if $(filter ensemble,$*),--set '+member_models=[$(subst $(space),$(comma),$(strip $(SP_MEMBERS)))]')

# ---- code stamps (mk/cv.mk): one check per make call, then each stage's stamp is current
$(SP_CODE)/%.json: $(SP_CODE)/.checked ;

# ---- 1. preprocess (the manifest keeps its mtime when the store's content is unchanged)
$(SP_INT)/preprocess.done: $(SP_INT)/source.json $(SP_CODE)/preprocess.json
	@$(STAMP) $(PY) $(SP_PIPE)/preprocess.py $(SP_DATA_ARGS) --out $(SP_STORE)
	@touch $@
$(SP_STORE)/manifest.json: $(SP_INT)/preprocess.done ;

# ---- 2. folds (folds.npy is rewritten only when the assignment changes)
$(SP_INT)/folds.done: $(SP_INT)/folds.json $(SP_STORE)/manifest.json $(SP_CODE)/folds.json
	@$(STAMP) $(PY) $(SP_PIPE)/folds.py --params $< --store $(SP_STORE)
	@touch $@
$(SP_STORE)/folds.npy: $(SP_INT)/folds.done ;

# ---- 3. features (the manifest changes only when the feature arrays do)
$(SP_INT)/features.done: $(SP_INT)/features.params.json $(SP_STORE)/manifest.json $(SP_CODE)/features.json
	@$(STAMP) $(PY) $(SP_PIPE)/features.py --params $< --store $(SP_STORE) --out $(SP_FEAT)
	@touch $@
$(SP_FEAT)/manifest.json: $(SP_INT)/features.done ;

# ---- 4. models: the run id is a hash of (params, data, folds); each fold is a target of mk/folds.mk.
# <model>.trained is the stage's stamp; <model>.run names the run and changes only when its cv.json does.
# Every model config whose `model:` is lgbm (lgbm.yaml, or one of yours) reads the features.
SP_FEATURE_MODELS := $(basename $(notdir $(shell grep -lE '^model:[[:space:]]*lgbm([[:space:]]|$$)' $(SP_CFG)/*.yaml)))
$(foreach m,$(SP_FEATURE_MODELS) $(filter $(addsuffix .s%,$(SP_FEATURE_MODELS)),$(SP_MEMBERS)),$(SP_INT)/$(m).trained): \
  $(SP_FEAT)/manifest.json
$(SP_INT)/%.trained: $(SP_INT)/%.params.json $(SP_INT)/predict_set.json $(SP_STORE)/manifest.json $(SP_STORE)/folds.npy \
                     $(SP_CODE)/%.json
	$(call train_model,spectra,$(SP_RUNS),$(SP_TRAIN),$(SP_STORE)/folds.npy)
$(SP_INT)/%.run: $(SP_INT)/%.trained ;

# ---- 5. ensemble
SP_MEMBER_RUNS = $(addprefix $(SP_INT)/,$(addsuffix .run,$(SP_MEMBERS)))
$(SP_INT)/ensemble.trained: $(SP_INT)/ensemble.params.json $(SP_MEMBER_RUNS) $(SP_STORE)/folds.npy \
                            $(SP_CODE)/ensemble.json
	@$(STAMP) $(PY) $(SP_PIPE)/ensemble.py --params $< --members $(SP_MEMBER_RUNS) --store $(SP_STORE) \
	  --runs $(SP_RUNS) --pointer $(SP_INT)/ensemble.run
	@touch $@

# ---- 6. submission (SP_SUBMIT names the run: changing it writes the new submission)
$(SP_INT)/submit.choice: FORCE
	@$(call var_stamp,$@,$(SP_SUBMIT))
$(SP_INT)/submit.done: $(SP_INT)/submit.params.json $(SP_INT)/$(SP_SUBMIT).run $(SP_INT)/submit.choice \
                       $(SP_INT)/predict_set.json $(SP_STORE)/manifest.json $(SP_CODE)/submit.json
	@$(STAMP) $(PY) $(SP_PIPE)/submit.py --run $(SP_INT)/$(SP_SUBMIT).run --params $< \
	  --predict-set $(SP_INT)/predict_set.json --store $(SP_STORE) --runs $(SP_RUNS) --out $(SP_SUBS) \
	  --pointer $(SP_INT)/submission.txt
	@touch $@

# ---- make tune COMP=spectra MODEL=<config> (after SP_FEATURE_MODELS: a feature model needs the features)
spectra-tune: TUNE_CFG = $(SP_CFG)
SP_TUNE_DEPS = $(SP_INT)/$(MODEL).params.json $(SP_STORE)/folds.npy $(SP_INT)/predict_set.json \
  $(if $(filter $(MODEL),$(SP_FEATURE_MODELS)),$(SP_FEAT)/manifest.json)
spectra-tune: tune-check $(SP_TUNE_DEPS)  ## Optuna study of configs/spectra/<MODEL>.yaml's tune: space (make tune)
	@$(TUNE) kexue.spectra.stages --config $(SP_CFG)/$(MODEL).yaml --params $(SP_INT)/$(MODEL).params.json $(SP_INPUTS)
