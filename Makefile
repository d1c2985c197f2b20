# smlab: one entry point for setup, tests and benchmarks. Everything installs into .venv from pinned
# versions (requirements.lock); nothing is downloaded by any other route.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
MP     := $(VENV)/bin/micropython
# Heap for device-side test runs: an ESP32 without PSRAM has roughly this much Python heap.
MPHEAP ?= 96K
STAMP  := $(VENV)/.setup-stamp

.PHONY: setup setup-tshark setup-ser2net test test-mp test-py bench demo freeze-manifest clean

setup: $(STAMP)
	@if command -v tshark >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory setup-tshark; \
	else echo "note: tshark is missing; 'sudo make setup-tshark' installs it (HAN capture tests)"; fi
	@if command -v ser2net >/dev/null || [ -x /usr/sbin/ser2net ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory setup-ser2net; \
	else echo "note: ser2net is missing; 'sudo make setup-ser2net' installs it (labgrid exporters, docs/lab.md)"; fi

$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# pyserial and labgrid's fork pyserial-labgrid both install `serial`: only the fork stays
	@# (a venv made before labgrid has pyserial; removing it removes the shared files, so both go first)
	if $(PY) -m pip show -q pyserial >/dev/null 2>&1; then \
	  $(PY) -m pip uninstall -y -q pyserial pyserial-labgrid; fi
	@# every dependency is pinned in the lock: --no-deps keeps mpremote from pulling pyserial back in
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements.lock
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

# ser2net: what a labgrid exporter runs to serve a board's UART (RawSerialPort) over the network
# while a place holds it (docs/lab.md); from Debian's packages when missing (needs root, as in CI).
setup-ser2net:
	@command -v ser2net >/dev/null || [ -x /usr/sbin/ser2net ] || { \
	  echo "installing ser2net from Debian's packages"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ser2net; }

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
