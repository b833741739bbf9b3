# nsinit: `make` builds, `make test` runs every test, `make size` checks the
# binary stays small.

CARGO    ?= cargo
TARGET   := x86_64-unknown-linux-gnu
BIN      := target/$(TARGET)/release/nsinit
MAX_SIZE := 32768

# What the launcher tests run besides nsinit: the peers they compare with and
# the probes they run inside.
TEST_DEPS := unshare:util-linux setpriv:util-linux python3:python3-minimal grep:grep

.PHONY: all build test unit-test lint size clean

all: build

build:
	$(CARGO) build --release

$(BIN): build

size: $(BIN)
	@size=$$(stat -c %s $(BIN)); \
	 echo "nsinit: $$size bytes, limit $(MAX_SIZE)"; \
	 test $$size -le $(MAX_SIZE) || { echo "nsinit: over the size limit" >&2; exit 1; }

lint:
	@if $(CARGO) clippy --version >/dev/null 2>&1; then \
	    $(CARGO) clippy --release --all-targets -- -D warnings; \
	 else echo "lint: cargo clippy missing, run: rustup component add clippy" >&2; exit 1; fi

# Unit tests of the parser and maps on the host, then the integration tests
# on the real binary (built by cargo with the same release profile).
unit-test:
	tests/deps.sh $(TEST_DEPS)
	$(CARGO) test --release

test: unit-test lint size

clean:
	$(CARGO) clean
