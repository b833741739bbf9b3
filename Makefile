# nsinit: `make` builds, `make demo` boots a VM with nsinit as PID 1 and
# shows the seed's namespaces, `make test` runs every test (as root).

CARGO    ?= cargo
TARGET   := x86_64-unknown-linux-gnu
BIN      := target/$(TARGET)/release/nsinit
MAX_SIZE := 49152

# `make install`: the binary and its manual page under $(DESTDIR)$(PREFIX).
PREFIX  ?= /usr/local
DESTDIR ?=

# What `make lint` needs besides cargo: man-db's man and groff, to check the
# manual page.
LINT_DEPS := man:man-db groff:groff-base

# What the image tools and their tests (tests/initramfs.rs) need: e2fsprogs
# for image/mkdisk, blkid to read its UUID back, kmod's depmod and modprobe
# as image/modules' oracle, and python's full standard library (lzma, for
# .ko.xz; python3-minimal lacks it; pydoc3 comes with the python3 package).
DISK_DEPS := mke2fs:e2fsprogs debugfs:e2fsprogs dumpe2fs:e2fsprogs e2fsck:e2fsprogs \
	blkid:util-linux depmod:kmod modprobe:kmod pydoc3:python3

# What the launcher tests run besides nsinit: the peers they compare with and
# the probes they run inside.
TEST_DEPS := unshare:util-linux setpriv:util-linux python3:python3-minimal grep:grep busybox:busybox-static \
	bwrap:bubblewrap \
	podman:podman runc:runc \
	cc:gcc /usr/lib/x86_64-linux-gnu/libc.a:libc6-dev \
	$(DISK_DEPS) \
	$(LINT_DEPS)

BUILD     := build
INITRAMFS := $(BUILD)/initramfs.cpio
BUSYBOX   := $(BUILD)/busybox/bin/busybox
IMAGE_DEPS := python3:python3-minimal dpkg-deb:dpkg apt-get:apt

.PHONY: all build install test unit-test lint size clean initramfs kernel qemu demo qemu-test bench mutants mutants-vm

all: build

build:
	$(CARGO) build --release

$(BIN): build

# The release binary and the manual page, e.g.
# make install PREFIX=/usr/local DESTDIR=/tmp/stage
install: build
	install -D -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/nsinit
	install -D -m 644 nsinit.1 $(DESTDIR)$(PREFIX)/share/man/man1/nsinit.1

size: $(BIN)
	@size=$$(stat -c %s $(BIN)); \
	 echo "nsinit: $$size bytes, limit $(MAX_SIZE)"; \
	 test $$size -le $(MAX_SIZE) || { echo "nsinit: over the size limit" >&2; exit 1; }

lint:
	@tests/deps.sh $(LINT_DEPS)
	@for check in "man --warnings -l nsinit.1" "groff -ww -man -Tutf8 nsinit.1"; do \
	    out=$$(LC_ALL=C.UTF-8 MANWIDTH=80 $$check 2>&1 >/dev/null) && [ -z "$$out" ] || \
	    { printf '%s\n' "$$out" >&2; echo "lint: $$check: nsinit.1 has warnings" >&2; exit 1; }; \
	 done
	@if $(CARGO) clippy --version >/dev/null 2>&1; then \
	    $(CARGO) clippy --release --all-targets -- -D warnings; \
	 else echo "lint: cargo clippy missing, run: rustup component add clippy" >&2; exit 1; fi
	@if $(CARGO) fmt --version >/dev/null 2>&1; then $(CARGO) fmt --check; \
	 else echo "lint: cargo fmt missing, run: rustup component add rustfmt" >&2; exit 1; fi
	@python3 tests/structure.py

# Unit tests of the parser and maps on the host, then the integration tests
# on the real binary (built by cargo with the same release profile).
unit-test:
	tests/deps.sh $(TEST_DEPS)
	$(CARGO) test --release

# Every test, then what they left behind: new files in /tmp and /dev/shm,
# mounts, processes (tests/leftovers.sh); any is a failure. The packages
# come first: installing them is not the tests' doing.
test:
	@tests/deps.sh $(TEST_DEPS) $(IMAGE_DEPS) qemu-system-x86_64:qemu-system-x86
	@tests/leftovers.sh snapshot $(BUILD)/leftovers.before
	$(MAKE) unit-test lint size qemu-test
	@tests/leftovers.sh check $(BUILD)/leftovers.before

# --- The VM: nsinit as /init of a tiny initramfs ------------------------------

$(BUSYBOX):
	image/fetch-deb busybox-static $(BUILD)/busybox

# The kernel modules in the image, by name (image/modules adds their
# dependencies and lists them in /etc/nsinit/modules, in load order):
# the virtio block, net and console drivers on PCI, and overlayfs. Empty
# (MODULES=) leaves the modules and /etc/nsinit/modules out.
MODULES ?= virtio_pci virtio_blk virtio_net virtio_console overlay

# Reproducible: no root needed, same bytes from the same inputs. The
# modules come from the fetched kernel package's one lib/modules/VERSION.
initramfs: build $(BUSYBOX) kernel
	@tests/deps.sh $(IMAGE_DEPS)
	image/initramfs-list $(BIN) $(BUSYBOX) > $(BUILD)/initramfs.list
	tree=$$(echo $(BUILD)/kernel/lib/modules/*); \
	 [ -d "$$tree" ] || { echo "initramfs: want one module tree, not $$tree" >&2; exit 1; }; \
	 rm -f $(BUILD)/modules.load; \
	 image/modules --cpio $(BUILD)/modules.load "$$tree" $(MODULES) >> $(BUILD)/initramfs.list
	SOURCE_DATE_EPOCH=0 python3 image/mkcpio.py $(BUILD)/initramfs.list $(INITRAMFS)
	@total=$$(stat -c %s $(INITRAMFS)); own=$$(stat -c %s $(BIN)); \
	 echo "initramfs: $(INITRAMFS) $$total bytes, nsinit $$own bytes ($$((own * 1000 / total / 10)).$$((own * 1000 / total % 10))%)"; \
	 sha256sum $(INITRAMFS)

kernel:
	image/fetch-deb linux-image-cloud-amd64 $(BUILD)/kernel

# An interactive busybox shell in a container in the VM (Ctrl-A X quits).
qemu: initramfs kernel
	image/qemu

# The seed's comparison inside the VM, then power off; no input needed.
demo: initramfs kernel
	image/qemu /bin/sh /demo

# VM scenarios: boots under TCG, two at a time; with them the tests of the
# image tools that need the fetched kernel (tests/initramfs.rs).
qemu-test: initramfs kernel
	@tests/deps.sh qemu-system-x86_64:qemu-system-x86 $(DISK_DEPS)
	$(CARGO) test --release --test vm --test vm_boot --test initramfs -- --ignored --test-threads=2

# nsinit against its peers, as ratios; rewrites BENCHMARKS.md (about 3 min).
BENCH_DEPS := bwrap:bubblewrap tini-static:tini catatonit:catatonit busybox:busybox-static \
	strace:strace valgrind:valgrind cc:gcc qemu-system-x86_64:qemu-system-x86 python3:python3-minimal
bench: initramfs kernel
	@tests/deps.sh $(BENCH_DEPS)
	python3 tests/bench.py

# Mutation testing over src/ with the host tests as the oracle (TESTING.md).
# Built with the `mutants` profile (release without LTO: a mutant rebuilds in
# seconds instead of a minute, since LTO also rebuilds every test binary)
# and tested with nextest, which stops at the first failing test. The size
# test is left out: it is about the release build. Each mutant's build and
# tests run in a mount and PID namespace of their own (tests/mutants/cargo):
# a mutant that loses nsinit's own namespaces, or signals pid -1, reaches
# only that. Hours on 2 cores, so not part of `make test`;
# MUTANTS_FLAGS="--shard 1/4" runs a part, "--file src/init.rs" one file.
# Results in mutants.out/.
MUTANTS_FLAGS ?=
mutants:
	@tests/deps.sh $(TEST_DEPS)
	@command -v cargo-mutants >/dev/null 2>&1 || $(CARGO) install --locked cargo-mutants
	@command -v cargo-nextest >/dev/null 2>&1 || $(CARGO) install --locked cargo-nextest
	REAL_CARGO=$$(command -v $(CARGO)) CARGO=$(CURDIR)/tests/mutants/cargo \
		cargo-mutants mutants --no-shuffle --jobs 2 --profile mutants --test-tool nextest \
		--timeout 60 $(MUTANTS_FLAGS) -- -E 'not test(binary_is_static_small_and_stripped)'

# The PID-1 survivors of `make mutants`, with the VM tests as the oracle
# (tests/vm_mutants.py; about a minute a mutant). VM_MUTANTS="--survivors
# mutants.out" takes the survivors of the last `make mutants` instead.
mutants-vm: initramfs kernel
	@tests/deps.sh qemu-system-x86_64:qemu-system-x86
	python3 tests/vm_mutants.py $(VM_MUTANTS)

clean:
	$(CARGO) clean
