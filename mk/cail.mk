# CAIL2019 element recognition (要素识别): preprocess -> encode -> folds -> train (models x seeds) -> blends
# (averages, tuned thresholds) -> evaluate -> submit
CAIL_CFG      := configs/cail2019
CAIL_DATA_CFG ?= $(CAIL_CFG)/data.yaml
CAIL_SOURCE   ?= auto
CAIL_MODELS   ?= dgc-zlpr dgc-bce tfidf-lr
CAIL_SEEDS    ?= 42
# a network's tuned-threshold blend only when CAIL_MODELS trains that network (CAIL_MODELS="dgc-zlpr tfidf-lr" works)
CAIL_BLENDS   ?= $(foreach m,dgc-bce dgc-zlpr,$(if $(filter $(m),$(CAIL_MODELS)),$(m)-tuned)) ensemble
CAIL_SUBMIT   ?= ensemble
CAIL_INT      := $(DATA_DIR)/interim/cail2019
CAIL_PROC     := $(DATA_DIR)/processed/cail2019
CAIL_FEAT     := $(DATA_DIR)/features/cail2019
CAIL_RUNS     := $(DATA_DIR)/runs/cail2019
CAIL_SUBS     := $(SUBMISSIONS_DIR)/cail2019
CAIL_CODE     := $(CAIL_INT)/code
CAIL_PIPE     := pipelines/cail2019
CAIL_DATA_ARGS = --config $(CAIL_DATA_CFG) --source $(CAIL_SOURCE) --set 'sample_dir=$(DATA_DIR)/sample/cail2019' \
                 $(call sets,data)
CAIL_INPUTS    = --features $(CAIL_FEAT) --runs $(CAIL_RUNS)
CAIL_TRAIN     = $(PY) $(CAIL_PIPE)/train.py $(CAIL_INPUTS)
# one member run per (model config, seed): dgc-zlpr.s42, dgc-bce.s42, ...
CAIL_MEMBERS   = $(foreach m,$(CAIL_MODELS),$(foreach s,$(CAIL_SEEDS),$(m).s$(s)))
CAIL_MEMBER_RUNS = $(addprefix $(CAIL_INT)/,$(addsuffix .run,$(CAIL_MEMBERS)))
CAIL_RUN_ARGS  = --processed $(CAIL_PROC) --features $(CAIL_FEAT) --runs $(CAIL_RUNS)

.PHONY: cail cail-preprocess cail-encode cail-folds cail-train cail-blend cail-evaluate cail-submit cail-compare \
        cail-clean cail-tune cail2019-tune

cail: cail-submit  ## CAIL2019 element recognition end to end (generated sample when data/raw/cail2019/ is empty)
cail-preprocess: $(CAIL_INT)/preprocess.done  ## validate documents, tags and the test file
cail-encode: $(CAIL_INT)/encode.done  ## character ids and multi-hot tags
cail-folds: $(CAIL_INT)/folds.done  ## k folds of documents
cail-train: $(CAIL_MEMBER_RUNS)  ## train CAIL_MODELS x CAIL_SEEDS (k-fold CV; DGC with ZLPR and BCE, TF-IDF + LR by default)
cail-train-%: $(CAIL_INT)/%.run  ## one member, e.g. make cail-train-dgc-zlpr.s7
	@:
cail-blend: $(addprefix $(CAIL_INT)/,$(addsuffix .run,$(CAIL_BLENDS)))  ## the blends (CAIL_BLENDS): tuned thresholds, the ensemble
cail-evaluate: $(CAIL_INT)/evaluate.done  ## OOF scores of every run, and the test's when there is a gold file
cail-submit: $(CAIL_INT)/submit.done  ## write submissions/cail2019/<run>.json (the test file with labels), validated
cail-tune: TUNE_CFG = $(CAIL_CFG)
cail-tune: tune-check $(CAIL_INT)/$(MODEL).params.json $(CAIL_FEAT)/manifest.json $(CAIL_FEAT)/folds.npy  ## Optuna study of configs/cail2019/<MODEL>.yaml's tune: space (make tune)
	@$(TUNE) kexue.cail2019.stages --config $(CAIL_CFG)/$(MODEL).yaml --params $(CAIL_INT)/$(MODEL).params.json $(CAIL_INPUTS)
cail2019-tune: cail-tune
cail-compare: $(VENV_OK)  ## same as make compare COMP=cail2019
	@$(PY) -m kexue.core.compare cail2019 --runs $(DATA_DIR)/runs
cail-clean:  ## delete the cail2019 stage outputs (keeps data/raw, runs and submissions)
	rm -rf $(CAIL_INT) $(CAIL_PROC) $(CAIL_FEAT) $(DATA_DIR)/sample/cail2019

# ---- resolved configs: rewritten only when a value changes
$(CAIL_INT)/source.json: FORCE | $(VENV_OK)
	@$(PY) $(CAIL_PIPE)/preprocess.py $(CAIL_DATA_ARGS) --stamp $@
$(CAIL_INT)/encode.json: FORCE | $(VENV_OK)
	@$(PY) -m kexue.core.config $(CAIL_CFG)/features.yaml --out $@ $(call sets,features)
$(CAIL_INT)/folds.json: FORCE | $(VENV_OK)
	@$(PY) -m kexue.core.config $(CAIL_CFG)/folds.yaml --out $@ $(call sets,folds)
$(CAIL_INT)/%.params.json: FORCE | $(CAIL_INT)/preprocess.done
	@$(PY) -m kexue.core.config $(CAIL_CFG)/$(basename $*).yaml --out $@ --profile-from $(CAIL_PROC)/manifest.json \
	  $(call sets,$(basename $*)) $(if $(filter .s%,$(suffix $*)),--set 'seed=$(patsubst .s%,%,$(suffix $*))')

# ---- code stamps (mk/cv.mk): one check per make call, then each stage's stamp is current
$(CAIL_CODE)/%.json: $(CAIL_CODE)/.checked ;

# ---- 1. preprocess (outputs and manifest keep their mtime when their content is unchanged)
$(CAIL_INT)/preprocess.done: $(CAIL_INT)/source.json $(CAIL_CODE)/preprocess.json
	@$(STAMP) $(PY) $(CAIL_PIPE)/preprocess.py $(CAIL_DATA_ARGS) --out $(CAIL_PROC)
	@touch $@
$(CAIL_PROC)/manifest.json: $(CAIL_INT)/preprocess.done ;

# ---- 2. encode
$(CAIL_INT)/encode.done: $(CAIL_INT)/encode.json $(CAIL_PROC)/manifest.json $(CAIL_CODE)/encode.json
	@$(STAMP) $(PY) $(CAIL_PIPE)/encode.py --params $< --processed $(CAIL_PROC) --out $(CAIL_FEAT)
	@touch $@
$(CAIL_FEAT)/manifest.json: $(CAIL_INT)/encode.done ;

# ---- 3. folds
$(CAIL_INT)/folds.done: $(CAIL_INT)/folds.json $(CAIL_FEAT)/manifest.json $(CAIL_CODE)/folds.json
	@$(STAMP) $(PY) $(CAIL_PIPE)/folds.py --params $< --features $(CAIL_FEAT)
	@touch $@
$(CAIL_FEAT)/folds.npy: $(CAIL_INT)/folds.done ;

# ---- 4. train: each fold is a target of mk/folds.mk; <member>.run names the run
$(CAIL_INT)/%.trained: $(CAIL_INT)/%.params.json $(CAIL_FEAT)/manifest.json $(CAIL_FEAT)/folds.npy $(CAIL_CODE)/%.json
	$(call train_model,cail2019,$(CAIL_RUNS),$(CAIL_TRAIN),$(CAIL_FEAT)/folds.npy)
$(CAIL_INT)/%.run: $(CAIL_INT)/%.trained ;

# ---- 5. blends: a blend's config names its members (member_models); every trained member is a prerequisite
$(addprefix $(CAIL_INT)/,$(addsuffix .trained,$(CAIL_BLENDS))): $(CAIL_INT)/%.trained: $(CAIL_INT)/%.params.json \
                                                                 $(CAIL_MEMBER_RUNS) $(CAIL_FEAT)/folds.npy $(CAIL_CODE)/%.json
	@$(STAMP) $(PY) $(CAIL_PIPE)/blend.py --params $< --members $(CAIL_MEMBER_RUNS) --features $(CAIL_FEAT) \
	  --runs $(CAIL_RUNS) --pointer $(CAIL_INT)/$*.run
	@touch $@

# ---- 6-7. evaluate and submit the chosen run, CAIL_SUBMIT (every blend is built first, so compare shows them
# all; changing CAIL_SUBMIT reruns both)
$(CAIL_INT)/submit.choice: FORCE
	@$(call var_stamp,$@,$(CAIL_SUBMIT))
CAIL_ALL_RUNS = $(addprefix $(CAIL_INT)/,$(addsuffix .run,$(CAIL_BLENDS))) $(CAIL_MEMBER_RUNS)
$(CAIL_INT)/evaluate.done: $(CAIL_INT)/$(CAIL_SUBMIT).run $(CAIL_INT)/submit.choice $(CAIL_ALL_RUNS) \
                           $(CAIL_PROC)/manifest.json $(CAIL_CODE)/evaluate.json
	@$(STAMP) $(PY) $(CAIL_PIPE)/evaluate.py --run $< $(CAIL_RUN_ARGS)
	@touch $@
$(CAIL_INT)/submit.done: $(CAIL_INT)/$(CAIL_SUBMIT).run $(CAIL_INT)/submit.choice $(CAIL_INT)/evaluate.done \
                         $(CAIL_PROC)/manifest.json $(CAIL_CODE)/submit.json
	@$(STAMP) $(PY) $(CAIL_PIPE)/submit.py --run $< $(CAIL_RUN_ARGS) --out $(CAIL_SUBS) --pointer $(CAIL_INT)/submission.txt
	@touch $@
