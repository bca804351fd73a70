# DGCNN reading comprehension (WebQA / SogouQA): preprocess -> wordvec -> encode -> folds -> train (models x seeds)
# -> ensemble -> evaluate (OOF, and test when it has gold) -> predict (test) -> submit
QA_CFG      := configs/qa
QA_DATA_CFG ?= $(QA_CFG)/data.yaml
QA_SOURCE   ?= auto
QA_W2V      ?=
QA_MODELS   ?= dgcnn
QA_SEEDS    ?= 42
QA_SUBMIT   ?= ensemble
QA_INT      := $(DATA_DIR)/interim/qa
QA_PROC     := $(DATA_DIR)/processed/qa
QA_FEAT     := $(DATA_DIR)/features/qa
QA_WV       := $(QA_FEAT)/wordvec
QA_RUNS     := $(DATA_DIR)/runs/qa
QA_SUBS     := $(SUBMISSIONS_DIR)/qa
QA_CODE     := $(QA_INT)/code
QA_PIPE     := pipelines/qa
QA_DATA_ARGS = --config $(QA_DATA_CFG) --source $(QA_SOURCE) --set 'sample_dir=$(DATA_DIR)/sample/qa' $(call sets,data)
QA_INPUTS    = --processed $(QA_PROC) --features $(QA_FEAT) --runs $(QA_RUNS) --decode $(QA_INT)/decode.json
QA_TRAIN     = $(PY) $(QA_PIPE)/train.py $(QA_INPUTS)
# one member run per (model config, seed): dgcnn.s42, dgcnn.s7, ...
QA_MEMBERS   = $(foreach m,$(QA_MODELS),$(foreach s,$(QA_SEEDS),$(m).s$(s)))
QA_RUN_ARGS  = --processed $(QA_PROC) --features $(QA_FEAT) --runs $(QA_RUNS) --decode $(QA_INT)/decode.json

.PHONY: qa-tune qa qa-preprocess qa-wordvec qa-encode qa-folds qa-train qa-ensemble qa-evaluate qa-predict qa-submit \
        qa-compare qa-clean

qa: qa-submit  ## DGCNN reading comprehension end to end (generated sample when data/raw/qa/ is empty)
qa-preprocess: $(QA_INT)/preprocess.done  ## validate the DGCNN/SQuAD files and the test gold
qa-wordvec: $(QA_INT)/wordvec.done  ## gensim word2vec on the text, or QA_W2V=<word2vec file>
qa-encode: $(QA_INT)/encode.done  ## chars + jieba words to ids, start/end labels
qa-folds: $(QA_INT)/folds.done  ## k folds of questions (a question's passages stay together)
qa-train: $(addprefix $(QA_INT)/,$(addsuffix .run,$(QA_MEMBERS)))  ## train QA_MODELS x QA_SEEDS (k-fold CV)
qa-train-%: $(QA_INT)/%.run  ## one member, e.g. make qa-train-dgcnn.s7
	@:
qa-ensemble: $(QA_INT)/ensemble.run  ## average the members' start/end probabilities
qa-evaluate: $(QA_INT)/evaluate.done  ## Sogou score of OOF (and test with gold), voting on and off
qa-predict: $(QA_INT)/predict.done  ## decode test into <run>/predictions.tsv
qa-submit: $(QA_INT)/submit.done  ## write submissions/qa/<run>.txt (id<TAB>answer), validated
qa-tune: TUNE_CFG = $(QA_CFG)
qa-tune: tune-check $(QA_INT)/$(MODEL).params.json $(QA_FEAT)/manifest.json $(QA_PROC)/folds.npy $(QA_INT)/decode.json  ## Optuna study of configs/qa/<MODEL>.yaml's tune: space (make tune)
	@$(TUNE) kexue.qa.stages --config $(QA_CFG)/$(MODEL).yaml --params $(QA_INT)/$(MODEL).params.json $(QA_INPUTS)
qa-compare: $(VENV_OK)  ## same as make compare COMP=qa
	@$(PY) -m kexue.core.compare qa --runs $(DATA_DIR)/runs
qa-clean:  ## delete the qa stage outputs (keeps data/raw, runs and submissions)
	rm -rf $(QA_INT) $(QA_PROC) $(QA_FEAT) $(DATA_DIR)/sample/qa

# ---- resolved configs: rewritten only when a value changes
$(QA_INT)/source.json: FORCE | $(VENV_OK)
	@$(PY) $(QA_PIPE)/preprocess.py $(QA_DATA_ARGS) --stamp $@
$(QA_INT)/wordvec.json: FORCE | $(QA_INT)/preprocess.done
	@$(PY) $(QA_PIPE)/wordvec.py --config $(QA_CFG)/features.yaml --profile-from $(QA_PROC)/manifest.json \
	  --stamp $@ $(call sets,features) $(if $(QA_W2V),--set 'word2vec.path=$(QA_W2V)')
$(QA_INT)/encode.json: FORCE | $(QA_INT)/preprocess.done
	@$(PY) -m kexue.core.config $(QA_CFG)/features.yaml --select encode --profile-from $(QA_PROC)/manifest.json \
	  --out $@ $(call sets,features)
$(QA_INT)/folds.json: FORCE | $(VENV_OK)
	@$(PY) -m kexue.core.config $(QA_CFG)/folds.yaml --out $@ $(call sets,folds)
$(QA_INT)/decode.json: FORCE | $(VENV_OK)
	@$(PY) -m kexue.core.config $(QA_CFG)/decode.yaml --out $@ $(call sets,decode)
$(QA_INT)/%.params.json: FORCE | $(QA_INT)/preprocess.done
	@$(PY) -m kexue.core.config $(QA_CFG)/$(basename $*).yaml --out $@ --profile-from $(QA_PROC)/manifest.json \
	  $(call sets,$(basename $*)) $(if $(filter .s%,$(suffix $*)),--set 'seed=$(patsubst .s%,%,$(suffix $*))') \
	  $(if $(filter ensemble,$*),--set '+member_models=[$(subst $(space),$(comma),$(strip $(QA_MEMBERS)))]')

# ---- code stamps (mk/cv.mk): one check per make call, then each stage's stamp is current
$(QA_CODE)/%.json: $(QA_CODE)/.checked ;

# ---- 1. preprocess (outputs and manifest keep their mtime when their content is unchanged)
$(QA_INT)/preprocess.done: $(QA_INT)/source.json $(QA_CODE)/preprocess.json
	@$(STAMP) $(PY) $(QA_PIPE)/preprocess.py $(QA_DATA_ARGS) --out $(QA_PROC)
	@touch $@
$(QA_PROC)/manifest.json: $(QA_INT)/preprocess.done ;

# ---- 2. word vectors
$(QA_INT)/wordvec.done: $(QA_INT)/wordvec.json $(QA_PROC)/manifest.json $(QA_CODE)/wordvec.json
	@$(STAMP) $(PY) $(QA_PIPE)/wordvec.py --params $< --processed $(QA_PROC) --out $(QA_WV)
	@touch $@
$(QA_WV)/manifest.json: $(QA_INT)/wordvec.done ;

# ---- 3. encode
$(QA_INT)/encode.done: $(QA_INT)/encode.json $(QA_PROC)/manifest.json $(QA_WV)/manifest.json $(QA_CODE)/encode.json
	@$(STAMP) $(PY) $(QA_PIPE)/encode.py --params $< --processed $(QA_PROC) --wordvec $(QA_WV) --out $(QA_FEAT)
	@touch $@
$(QA_FEAT)/manifest.json: $(QA_INT)/encode.done ;

# ---- 4. folds
$(QA_INT)/folds.done: $(QA_INT)/folds.json $(QA_PROC)/manifest.json $(QA_CODE)/folds.json
	@$(STAMP) $(PY) $(QA_PIPE)/folds.py --params $< --processed $(QA_PROC)
	@touch $@
$(QA_PROC)/folds.npy: $(QA_INT)/folds.done ;

# ---- 5. train: each fold is a target of mk/folds.mk; <member>.run names the run. The decode config scores the
# epochs on the selection rows but is not a prerequisite: editing it re-decodes (evaluate/predict/submit), never
# retrains.
$(QA_INT)/%.trained: $(QA_INT)/%.params.json $(QA_FEAT)/manifest.json $(QA_PROC)/folds.npy $(QA_CODE)/%.json \
                     | $(QA_INT)/decode.json
	$(call train_model,qa,$(QA_RUNS),$(QA_TRAIN),$(QA_PROC)/folds.npy)
$(QA_INT)/%.run: $(QA_INT)/%.trained ;

# ---- 6. ensemble
QA_MEMBER_RUNS = $(addprefix $(QA_INT)/,$(addsuffix .run,$(QA_MEMBERS)))
$(QA_INT)/ensemble.trained: $(QA_INT)/ensemble.params.json $(QA_MEMBER_RUNS) $(QA_PROC)/folds.npy \
                            $(QA_CODE)/ensemble.json | $(QA_INT)/decode.json
	@$(STAMP) $(PY) $(QA_PIPE)/ensemble.py --params $< --members $(QA_MEMBER_RUNS) $(QA_RUN_ARGS) \
	  --pointer $(QA_INT)/ensemble.run
	@touch $@

# ---- 7-9. evaluate, predict test, submit: QA_SUBMIT names the run (changing it reruns them)
$(QA_INT)/submit.choice: FORCE
	@$(call var_stamp,$@,$(QA_SUBMIT))
QA_CHOSEN = $(QA_INT)/$(QA_SUBMIT).run $(QA_INT)/submit.choice $(QA_INT)/decode.json $(QA_FEAT)/manifest.json
$(QA_PROC)/sources.json: $(QA_INT)/preprocess.done ;
$(QA_INT)/evaluate.done: $(QA_CHOSEN) $(QA_PROC)/sources.json $(QA_CODE)/evaluate.json
	@$(STAMP) $(PY) $(QA_PIPE)/evaluate.py --run $< $(QA_RUN_ARGS)
	@touch $@
$(QA_INT)/predict.done: $(QA_CHOSEN) $(QA_CODE)/predict.json
	@$(STAMP) $(PY) $(QA_PIPE)/submit.py --predict-only --run $< $(QA_RUN_ARGS)
	@touch $@
$(QA_INT)/submit.done: $(QA_CHOSEN) $(QA_INT)/evaluate.done $(QA_CODE)/submit.json
	@$(STAMP) $(PY) $(QA_PIPE)/submit.py --run $< $(QA_RUN_ARGS) --out $(QA_SUBS) --pointer $(QA_INT)/submission.txt
	@touch $@
