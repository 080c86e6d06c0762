# deployment-hardening: build, test and run the Kubewarden policy.
# `make` builds policy.wasm; `make run` evaluates the examples with it;
# `make test` runs every test suite, including the wasm-level one.

WASM_TARGET := wasm32-wasip1
# Where cargo writes, from cargo itself: CARGO_TARGET_DIR (or a
# .cargo/config.toml) moves it away from ./target.
TARGET_DIR  := $(shell cargo metadata --format-version 1 --no-deps 2>/dev/null | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
ifeq ($(TARGET_DIR),)
$(warning cargo metadata gave no target directory; taking ./target)
TARGET_DIR  := target
endif
MODULE      := $(TARGET_DIR)/$(WASM_TARGET)/policy/deployment_hardening.wasm
RUNNER      := cargo run --quiet --release -p hardening-runner --bin hardening-run --
EXAMPLES    := policy/examples/workloads/*.yaml

.PHONY: all run fix-example test lint fmt bench fuzz e2e-requests e2e-kwctl e2e-kind artifacthub push wasm-target clean

all: policy.wasm

wasm-target:
	@rustup target list --installed | grep -qx '$(WASM_TARGET)' || rustup target add '$(WASM_TARGET)'

# binaryen's optimizer (Debian package binaryen): -O1 takes about 9% off the
# module at the same speed under wasmtime (-O3 and -Os measured slower).
# Rust's wasm32 target enables these features, so wasm-opt may keep using them.
WASM_OPT          ?= wasm-opt
WASM_OPT_FEATURES := --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
                     --enable-nontrapping-float-to-int --enable-multivalue --enable-reference-types

# `optimise IN OUT`: wasm-opt where installed, else a plain copy and a note.
define optimise
	@if command -v '$(WASM_OPT)' >/dev/null; then \
	  '$(WASM_OPT)' -O1 $(WASM_OPT_FEATURES) '$(1)' -o '$(2)'; \
	else \
	  echo "note: $(WASM_OPT) (binaryen) is not installed, so $(2) is not size-optimised" >&2; \
	  cp '$(1)' '$(2)'; \
	fi
endef

# cargo decides what is stale; make only optimises the result.
policy.wasm: wasm-target
	cargo build --profile policy --target '$(WASM_TARGET)' -p deployment-hardening
	$(call optimise,$(MODULE),policy.wasm)
	@echo "policy.wasm: $$(wc -c < policy.wasm) bytes"

run: policy.wasm
	$(RUNNER) --policy policy.wasm $(EXAMPLES)

# What `hardening-run fix` would write into the bare httpbin, as a diff.
fix-example: policy.wasm
	$(RUNNER) fix --dry-run --policy policy.wasm policy/examples/workloads/httpbin-bare.yaml

# Kubernetes schemas, offline, for the schema test of every mutated object.
VENV                := .venv
KUBERNETES_VALIDATE := $(VENV)/bin/kubernetes-validate

# pre-commit, to run this repository's hooks (.pre-commit-hooks.yaml) for real.
PRE_COMMIT          := $(VENV)/bin/pre-commit

$(KUBERNETES_VALIDATE):
	python3 -m venv '$(VENV)'
	'$(VENV)/bin/pip' install --quiet 'kubernetes-validate==1.37.0'

$(PRE_COMMIT): $(KUBERNETES_VALIDATE)
	'$(VENV)/bin/pip' install --quiet 'pre-commit==4.3.0'

test: policy.wasm $(KUBERNETES_VALIDATE) $(PRE_COMMIT)
	KUBERNETES_VALIDATE='$(abspath $(KUBERNETES_VALIDATE))' PRE_COMMIT='$(abspath $(PRE_COMMIT))' cargo test --workspace

BASELINE := $(TARGET_DIR)/$(WASM_TARGET)/policy/baseline_policy.wasm

# Figures, not assertions: size, compile and instantiate time, latency per
# evaluation and its growth with containers, each against a baseline module
# built and optimised the same way.
# The context-aware baseline also makes the policy's one host call (listing
# the namespace's LimitRanges), so its ratio is the policy's own work.
bench: policy.wasm
	cargo build --profile policy --target '$(WASM_TARGET)' -p baseline-policy
	$(call optimise,$(BASELINE),$(TARGET_DIR)/baseline.wasm)
	cargo build --profile policy --target '$(WASM_TARGET)' -p baseline-policy --features context-aware
	$(call optimise,$(BASELINE),$(TARGET_DIR)/baseline-context-aware.wasm)
	cargo run --quiet --release -p hardening-runner --bin hardening-bench -- --policy policy.wasm \
	  --baseline '$(TARGET_DIR)/baseline.wasm' --context-aware-baseline '$(TARGET_DIR)/baseline-context-aware.wasm'

# Coverage-guided fuzzing of validate (raw bytes and structured workloads)
# and validate_settings, FUZZ_SECONDS each, seeded from the fixtures.
# A crash is saved under fuzz/artifacts/<target>/ and the run fails.
FUZZ_SECONDS ?= 180
FUZZ_TARGETS := validate validate_structured validate_settings

fuzz:
	@command -v cargo-fuzz >/dev/null || { echo "make fuzz needs cargo-fuzz: cargo install cargo-fuzz --locked" >&2; exit 2; }
	fuzz/seed-corpus.sh
	cd fuzz && for target in $(FUZZ_TARGETS); do \
	  cargo +nightly fuzz run "$$target" -- -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 || exit 1; \
	done

# kwctl embeds metadata.yml and the README (as usage) into the module.
annotated-policy.wasm: policy.wasm policy/metadata.yml README.md
	@command -v kwctl >/dev/null || { echo "annotated-policy.wasm $(KWCTL_MISSING)" >&2; exit 2; }
	kwctl annotate -m policy/metadata.yml -u README.md -o annotated-policy.wasm policy.wasm

VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
KWCTL_MISSING := needs kwctl (https://github.com/kubewarden/kwctl/releases)

# Regenerates the Artifact Hub package file from the metadata and the form.
# kwctl 1.23 and later read the version from the metadata's
# io.kubewarden.policy.version; older ones need --version, which their help
# lists with its value (`--version <VERSION>`, not clap's own `-V, --version`).
artifacthub:
	@command -v kwctl >/dev/null || { echo "artifacthub $(KWCTL_MISSING)" >&2; exit 2; }
	kwctl scaffold artifacthub --metadata-path policy/metadata.yml --questions-path policy/questions-ui.yml \
	  $$(kwctl scaffold artifacthub --help | grep -q -- '--version <' && echo "--version $(VERSION)") > artifacthub-pkg.yml

# Pushes the annotated module: make push OCI_REF=ghcr.io/you/policies/deployment-hardening:v$(VERSION)
push: annotated-policy.wasm
	@test -n '$(OCI_REF)' || { echo "push needs OCI_REF, e.g. make push OCI_REF=ghcr.io/you/policies/deployment-hardening:v$(VERSION)" >&2; exit 2; }
	kwctl push annotated-policy.wasm '$(OCI_REF)'

# The wasm cases' request files of test-data manifests, written again from
# them (a test checks they agree).
e2e-requests:
	for manifest in test-data/*.yaml; do \
	  request=e2e/requests/$$(basename "$$manifest" .yaml).json; \
	  if [ -f "$$request" ]; then $(RUNNER) -o request "$$manifest" > "$$request"; fi; \
	done

# The wasm-level cases through kwctl itself; skips, saying why, without kwctl.
e2e-kwctl:
	@if command -v kwctl >/dev/null; then $(MAKE) annotated-policy.wasm; fi
	e2e/kwctl-cases.sh

# A real cluster: kind, a local registry and Kubewarden (see e2e/kind/run.sh).
# Skips, naming the missing tool, where docker, kind, helm, kubectl or kwctl is absent.
e2e-kind:
	e2e/kind/run.sh

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	shellcheck .ci/run e2e/*.sh e2e/kind/*.sh fuzz/*.sh

fmt:
	cargo fmt --all

clean:
	cargo clean
	rm -f policy.wasm
