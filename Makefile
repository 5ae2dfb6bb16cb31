# Two commands for a fresh machine (see README):  make demo   |   make test
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
WORK   ?= work
SIZE   ?= small
PYTEST_ARGS ?=
# pytest-xdist workers for make test: CI has 2 cores, and most tests wait on one single-threaded fairseq tool
TEST_WORKERS ?= 2

.PHONY: env demo compare claims test bench clean
env: $(VENV)/.xlgen-env

$(VENV)/.xlgen-env: setup.py constraints.txt third_party/fairseq-0.12.2-xlgen.patch third_party/install_fairseq.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel
	$(PY) -m pip install --quiet -c constraints.txt torch==2.13.0 numpy cython
	bash third_party/install_fairseq.sh $(PY)
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test]"
	$(PY) -c "import torch, fairseq, fairseq_xlgen; print('torch', torch.__version__, '| fairseq', fairseq.__version__)"
	touch $@

# Main job on the embedded default data: zero-shot summarization (task data in en_XX only, outputs in
# de_DE / ru_RU / zh_CN), mBART finetune vs multi-source finetune -> table + plot (examples/demo/run.py)
demo: env
	PATH=$(abspath $(VENV))/bin:$$PATH $(PY) examples/demo/run.py $(WORK)/demo $(SIZE)

# All four methods (+ two combinations) on one zero-shot task, same budget -> one table + plot
# (examples/compare/run.py; SIZE=tiny is a smoke run)
compare: env
	PATH=$(abspath $(VENV))/bin:$$PATH $(PY) examples/compare/run.py $(WORK)/compare $(SIZE)

# The papers' headline claims over seeds (make compare's mBART rows, examples/multisource's checkpoint
# selection, examples/sga's translation with distillation and its free generation, examples/csr's
# translation, examples/laft's six systems on summarization, SEEDS runs each, on the testbed backbones)
# -> $(WORK)/claims/claims.{md,json} (examples/compare/claims.py)
SEEDS ?= 1,2,3
claims: env
	PATH=$(abspath $(VENV))/bin:$$PATH $(PY) examples/compare/claims.py $(WORK)/claims --seeds $(SEEDS)

# The whole suite (what CI runs), TEST_WORKERS tests at a time; slow end-to-end tests are included, marked `slow`
# (worksteal: a worker left idle takes queued tests from the other, so two long slow tests do not end up in one queue)
test: env
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS) tests

# Every bench/ script with small settings (bench/run_all.py; JSON in bench/results/small/)
bench: env
	PATH=$(abspath $(VENV))/bin:$$PATH $(PY) -m bench.run_all

clean:
	rm -rf $(WORK) .pytest_cache
