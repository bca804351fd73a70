# Chinese NL2SQL (Tianchi 2019, TableQA): preprocess -> folds -> train (models x seeds) -> ensemble
# -> evaluate (val) -> predict (test) -> submit
NL_CFG      := configs/nl2sql
NL_DATA_CFG ?= $(NL_CFG)/data.yaml
NL_SOURCE   ?= auto
NL_BERT     ?=
NL_MODELS   ?= bert
NL_SEEDS    ?= 42
NL_SUBMIT   ?= ensemble
NL_INT      := $(DATA_DIR)/interim/nl2sql
NL_PROC     := $(DATA_DIR)/processed/nl2sql
NL_RUNS     := $(DATA_DIR)/runs/nl2sql
NL_SUBS     := $(SUBMISSIONS_DIR)/nl2sql
NL_CODE     := $(NL_INT)/code
NL_PIPE     := pipelines/nl2sql
NL_DATA_ARGS = --config $(NL_DATA_CFG) --source $(NL_SOURCE) --set 'sample_dir=$(DATA_DIR)/sample/nl2sql' \
               $(if $(NL_BERT),--set 'bert=$(NL_BERT)') $(call sets,data)
NL_INPUTS    = --processed $(NL_PROC) --runs $(NL_RUNS) --decode $(NL_INT)/decode.json
NL_TRAIN     = $(PY) $(NL_PIPE)/train.py $(NL_INPUTS)
# one member run per (model config, seed): bert.s42, bert.s7, ...
NL_MEMBERS   = $(foreach m,$(NL_MODELS),$(foreach s,$(NL_SEEDS),$(m).s$(s)))
NL_RUN_ARGS  = --processed $(NL_PROC) --runs $(NL_RUNS) --decode $(NL_INT)/decode.json

.PHONY: nl2sql-tune nl2sql nl2sql-preprocess nl2sql-folds nl2sql-train nl2sql-ensemble nl2sql-evaluate nl2sql-predict \
        nl2sql-submit nl2sql-compare nl2sql-clean

nl2sql: nl2sql-submit  ## Chinese NL2SQL end to end (generated sample when data/raw/nl2sql/ is empty)
nl2sql-preprocess: $(NL_INT)/preprocess.done  ## validate questions/tables, tokenise, build head labels
nl2sql-folds: $(NL_INT)/folds.done  ## holdout on val/ (default) or k folds grouped by table
nl2sql-train: $(addprefix $(NL_INT)/,$(addsuffix .run,$(NL_MEMBERS)))  ## train NL_MODELS x NL_SEEDS
nl2sql-train-%: $(NL_INT)/%.run  ## one member, e.g. make nl2sql-train-bert.s7
	@:
nl2sql-ensemble: $(NL_INT)/ensemble.run  ## average the members' head probabilities
nl2sql-evaluate: $(NL_INT)/evaluate.done  ## decode val with configs/nl2sql/decode.yaml: LF, EX, components
nl2sql-predict: $(NL_INT)/predict.done  ## decode test into <run>/predictions.jsonl
nl2sql-submit: $(NL_INT)/submit.done  ## write submissions/nl2sql/<run>.json, validated
nl2sql-tune: TUNE_CFG = $(NL_CFG)
nl2sql-tune: tune-check $(NL_INT)/$(MODEL).params.json $(NL_PROC)/manifest.json $(NL_PROC)/folds.npy $(NL_INT)/decode.json  ## Optuna study of configs/nl2sql/<MODEL>.yaml's tune: space (make tune)
	@$(TUNE) kexue.nl2sql.stages --config $(NL_CFG)/$(MODEL).yaml --params $(NL_INT)/$(MODEL).params.json $(NL_INPUTS)
nl2sql-compare: $(VENV_OK)  ## same as make compare COMP=nl2sql
	@$(PY) -m kexue.core.compare nl2sql --runs $(DATA_DIR)/runs
nl2sql-clean:  ## delete the nl2sql stage outputs (keeps data/raw, runs and submissions)
	rm -rf $(NL_INT) $(NL_PROC) $(DATA_DIR)/sample/nl2sql

# ---- resolved configs: rewritten only when a value changes
$(NL_INT)/source.json: FORCE | $(VENV_OK)
	@$(PY) $(NL_PIPE)/preprocess.py $(NL_DATA_ARGS) --stamp $@
$(NL_INT)/folds.json: FORCE | $(VENV_OK)
	@$(PY) -m kexue.core.config $(NL_CFG)/folds.yaml --out $@ $(call sets,folds)
$(NL_INT)/decode.json: FORCE | $(VENV_OK)
	@$(PY) -m kexue.core.config $(NL_CFG)/decode.yaml --out $@ $(call sets,decode)
$(NL_INT)/%.params.json: FORCE | $(NL_INT)/preprocess.done
	@$(PY) -m kexue.core.config $(NL_CFG)/$(basename $*).yaml --out $@ --profile-from $(NL_PROC)/manifest.json \
	  $(call sets,$(basename $*)) $(if $(filter .s%,$(suffix $*)),--set 'seed=$(patsubst .s%,%,$(suffix $*))') \
	  $(if $(filter ensemble,$*),--set '+member_models=[$(subst $(space),$(comma),$(strip $(NL_MEMBERS)))]')

# ---- code stamps (mk/cv.mk): one check per make call, then each stage's stamp is current
$(NL_CODE)/%.json: $(NL_CODE)/.checked ;

# ---- 1. preprocess (the manifest keeps its mtime when nothing it records changed)
$(NL_INT)/preprocess.done: $(NL_INT)/source.json $(NL_CODE)/preprocess.json
	@$(STAMP) $(PY) $(NL_PIPE)/preprocess.py $(NL_DATA_ARGS) --out $(NL_PROC)
	@touch $@
$(NL_PROC)/manifest.json: $(NL_INT)/preprocess.done ;

# ---- 2. folds
$(NL_INT)/folds.done: $(NL_INT)/folds.json $(NL_PROC)/manifest.json $(NL_CODE)/folds.json
	@$(STAMP) $(PY) $(NL_PIPE)/folds.py --params $< --processed $(NL_PROC)
	@touch $@
$(NL_PROC)/folds.npy: $(NL_INT)/folds.done ;

# ---- 3. train: each fold is a target of mk/folds.mk; <member>.run names the run. The decode config scores
# the epochs on the selection rows but is not a prerequisite: editing it re-decodes (evaluate/predict), never
# retrains.
$(NL_INT)/%.trained: $(NL_INT)/%.params.json $(NL_PROC)/manifest.json $(NL_PROC)/folds.npy $(NL_CODE)/%.json \
                     | $(NL_INT)/decode.json
	$(call train_model,nl2sql,$(NL_RUNS),$(NL_TRAIN),$(NL_PROC)/folds.npy)
$(NL_INT)/%.run: $(NL_INT)/%.trained ;

# ---- 4. ensemble
NL_MEMBER_RUNS = $(addprefix $(NL_INT)/,$(addsuffix .run,$(NL_MEMBERS)))
$(NL_INT)/ensemble.trained: $(NL_INT)/ensemble.params.json $(NL_MEMBER_RUNS) $(NL_PROC)/folds.npy \
                            $(NL_CODE)/ensemble.json | $(NL_INT)/decode.json
	@$(STAMP) $(PY) $(NL_PIPE)/ensemble.py --params $< --members $(NL_MEMBER_RUNS) $(NL_RUN_ARGS) \
	  --pointer $(NL_INT)/ensemble.run
	@touch $@

# ---- 5-7. evaluate on val, predict test, submit: NL_SUBMIT names the run (changing it reruns them)
$(NL_INT)/submit.choice: FORCE
	@$(call var_stamp,$@,$(NL_SUBMIT))
NL_CHOSEN = $(NL_INT)/$(NL_SUBMIT).run $(NL_INT)/submit.choice $(NL_INT)/decode.json $(NL_PROC)/manifest.json
$(NL_INT)/evaluate.done: $(NL_CHOSEN) $(NL_CODE)/evaluate.json
	@$(STAMP) $(PY) $(NL_PIPE)/evaluate.py --run $< $(NL_RUN_ARGS)
	@touch $@
$(NL_INT)/predict.done: $(NL_CHOSEN) $(NL_CODE)/predict.json
	@$(STAMP) $(PY) $(NL_PIPE)/submit.py --predict-only --run $< $(NL_RUN_ARGS)
	@touch $@
$(NL_INT)/submit.done: $(NL_CHOSEN) $(NL_INT)/evaluate.done $(NL_CODE)/submit.json
	@$(STAMP) $(PY) $(NL_PIPE)/submit.py --run $< $(NL_RUN_ARGS) --out $(NL_SUBS) --pointer $(NL_INT)/submission.txt
	@touch $@
