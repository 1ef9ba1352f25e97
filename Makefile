# A new user's commands: `make sim` (the device on this PC) and `make test`.
# Both install what they need first (`make setup`).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup test bench sim clean

setup: $(VENV)/.installed node_modules/.installed $(VENV)/ssd1306/ssd1306.py

# micropython-lib's SSD1306 driver, for the board checks of the door display only (it is never
# copied into this repository; `doorstep deploy` installs it on a board with mip). PyPI has it
# only as this old sdist (pip cannot install it), so it is fetched once, checked against the
# pinned SHA-256 and unpacked into the venv.
SSD1306_URL := https://files.pythonhosted.org/packages/01/d0/0841d47772962c80af3ab178ef062ed2cd524cb99eb38463e669428402a8/micropython-ssd1306-0.3.tar.gz
SSD1306_SHA256 := d00cae1ff680e6ae504e258e700f002874b0d924b1a604253b6ea63144b58289

$(VENV)/ssd1306/ssd1306.py: $(VENV)/.installed
	$(BIN)/python tools/fetch_pinned.py $(SSD1306_URL) $(SSD1306_SHA256) micropython-ssd1306-0.3/ssd1306.py $@; \
		rc=$$?; test $$rc -ne 1  # offline (2): go on, the check skips; a wrong SHA-256 (1): stop

$(VENV)/.installed: requirements.txt tools/pyproject.toml
	@command -v node >/dev/null || (echo "Installing Node.js (runs the MicroPython test runtime)"; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs npm)
	@command -v mosquitto >/dev/null || test -x /usr/sbin/mosquitto || (echo "Installing mosquitto (private MQTT broker for the tests)"; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends mosquitto)
	@test -x /usr/bin/chromium || (echo "Installing Chromium (the report tests open reports in it)"; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium)
	@test -e /lib/ld-linux.so.2 || ! test -d ../shared/tools || (echo "Installing libc6-i386 (runs the 32-bit MicroPython unix port beside the checkout)"; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends libc6-i386)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install -q --disable-pip-version-check -e tools
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --target $(VENV)/mpy-stubs \
		micropython-esp32-stubs==1.27.0.post1 micropython-stdlib-stubs==1.27.0.post2
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	@touch $@

test: setup
	$(BIN)/python -m pytest host_tests

bench: setup
	$(BIN)/python -m doorstep_tools.bench

sim: setup
	$(BIN)/doorstep sim --state sim-device

clean:
	rm -rf $(VENV) node_modules build
