# Sesame: the two commands that matter are `make run` and `make test` (see README.md).
# Both install what is missing (Debian 12 packages, npm packages for the JS SDK test),
# configure and build with CMake + Ninja (ccache when present), then act.

BUILD      ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS       ?= 2
CONFIG     ?=
PY         := /usr/bin/python3

# Build and test dependencies, all from Debian 12's archive.
DEB_PACKAGES := build-essential cmake ninja-build ccache pkg-config git ca-certificates openssl \
  libboost1.81-dev libssl-dev libsqlite3-dev nlohmann-json3-dev libfmt-dev libspdlog-dev \
  libtomlplusplus-dev libc-ares-dev libgoogle-perftools-dev libgtest-dev libgmock-dev \
  awscli python3-boto3 python3-botocore python3-cryptography python3-prometheus-client python3-dkim python3-dnspython python3-aiosmtpd dnsmasq-base swaks libnet-ssleay-perl libauthen-sasl-perl

.PHONY: all deps js-deps configure build run test unit e2e asan fuzz bench clean

all: build

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then missing="$$missing nodejs npm"; fi; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

js-deps: deps
	@if [ ! -d tests/e2e/js/node_modules ] && [ -f tests/e2e/js/package.json ]; then \
	  cd tests/e2e/js && npm ci --no-audit --no-fund --loglevel=error; fi

configure: deps
	@if [ ! -f $(BUILD)/build.ninja ]; then \
	  cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE); fi

build: configure
	cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/src/sesame serve $(if $(CONFIG),--config $(CONFIG))

unit: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

e2e: build js-deps
	SESAME_E2E_STRICT=1 $(PY) -m unittest discover -s tests/e2e -p 'test_*.py' -v

# Every test, then the unit, fuzz-replay and end-to-end tests again on an ASan+UBSan build.
test: unit e2e asan

SAN_ENV := ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

asan: deps js-deps
	@if [ ! -f build-asan/build.ninja ]; then \
	  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
	    -DSESAME_SANITIZE=ON; fi
	cmake --build build-asan -j $(JOBS)
	$(SAN_ENV) ctest --test-dir build-asan --output-on-failure -j $(JOBS)
	$(SAN_ENV) SESAME_E2E_STRICT=1 SESAME_BUILD=$(CURDIR)/build-asan $(PY) -m unittest discover -s tests/e2e -p 'test_*.py'

# Benchmarks (not tests). The delivery benchmark runs Postfix + OpenDKIM as its peer:
# installed here when missing ("No configuration": no system Postfix is set up or started).
BENCH_PACKAGES := postfix opendkim opendkim-tools

bench: build
	@missing=""; for p in $(BENCH_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
	@if [ ! -d bench/js/node_modules ]; then cd bench/js && npm ci --no-audit --no-fund --loglevel=error; fi
	bash bench/api_bench.sh
	bash bench/delivery_bench.sh
	bash bench/submission_bench.sh
	bash bench/template_bench.sh

fuzz: deps
	@command -v clang++ >/dev/null 2>&1 && dpkg-query -W libclang-rt-14-dev >/dev/null 2>&1 || \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends clang libclang-rt-14-dev
	cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DSESAME_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build build-fuzz -j $(JOBS) --target fuzz_targets
	bash fuzz/run.sh build-fuzz

clean:
	rm -rf $(BUILD) build-asan build-fuzz
