# smlab: one entry point for setup, tests and benchmarks. Everything installs into .venv from pinned
# versions (requirements.lock); nothing is downloaded by any other route.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
MP     := $(VENV)/bin/micropython
# Heap for device-side test runs: an ESP32 without PSRAM has roughly this much Python heap.
MPHEAP ?= 96K
STAMP  := $(VENV)/.setup-stamp

.PHONY: setup setup-tshark test test-mp test-py bench demo freeze-manifest clean

setup: $(STAMP)
	@if command -v tshark >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory setup-tshark; \
	else echo "note: tshark is missing; 'sudo make setup-tshark' installs it (HAN capture tests)"; fi

$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(MP) -c "import vfs, hashlib, cryptolib; print('micropython unix port ok')"
	touch $(STAMP)

# tshark (Wireshark's dissectors) judges the HAN captures: from Debian's packages when missing
# (needs root, as in CI; tests/host/test_zigbee_tshark.py fails in CI without it).
setup-tshark:
	@command -v tshark >/dev/null || { \
	  echo "installing tshark from Debian's packages"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tshark; }

# Shared-logic tests under the MicroPython unix port (heap-limited), then every test under CPython.
test: setup
	$(MAKE) --no-print-directory test-mp
	$(MAKE) --no-print-directory test-py

test-mp: setup
	$(PY) tests/mprun.py --heap $(MPHEAP) tests/unit

test-py: setup
	$(PY) -m pytest tests

# The main job: a virtual ESME flashed, provisioned and driven through the whole mission (~15 s).
demo: setup
	$(PY) -m host_tools.campaigns.demo

bench: setup
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# The manifest of an ESP32 image with the firmware frozen into flash (boards without PSRAM; build it
# in MicroPython's ports/esp32 with the printed command, docs/board-memory.md).
freeze-manifest: setup
	$(PY) -m host_tools.boards.freeze build/esp32-frozen

clean:
	rm -rf $(VENV) build out *.egg-info
