# CoMNIST: `make run` starts the whole system locally, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
DATA ?= data
SITE ?= build/site
SITE_URL ?= http://127.0.0.1:$(PORT)
CONTACT ?=
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup site run browser fonts axe gallery test lint bench nonletters starter reference-cnn clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@# cnn: PyTorch's CPU wheel, so the tests train the reference CNN for real (docs/releases.md).
	$(BIN)/pip install --quiet -e '.[dev,cnn,hub]'
	touch $(STAMP)

setup: $(STAMP)

site: setup
	$(BIN)/python build_site.py --out $(SITE) --site-url $(SITE_URL) --contributors-data $(DATA)/contributors \
		--drawings-data $(DATA)/drawings $(if $(CONTACT),--contact $(CONTACT))

run: site
	$(BIN)/comnist serve --host $(HOST) --port $(PORT) --data $(DATA) --site $(SITE)

# Debian's Chromium drives the browser tests (Playwright cannot download its own browsers here).
browser:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }
	@chromium --version
	@# Chinese pages need a CJK font for their screenshots and sharing card (phones have their own).
	@[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq fonts-wqy-microhei >/dev/null; }

# Free fonts (DejaVu, Liberation) that the sanitizer's tests draw every letter in, and that
# `make starter` renders the starter letter classifier from.
FONT_PACKAGES := fonts-dejavu-core fonts-dejavu-extra fonts-liberation
fonts:
	@[ -f /usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf ] && \
		[ -f /usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf ] || \
		{ $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(FONT_PACKAGES) >/dev/null; }

# The reveal's gallery, committed as site/gallery/: a few real 2017 CoMNIST drawings of each letter
# (CC BY-SA 4.0) that the starter check scores ok, from the sample beside the checkout.
COMNIST_SAMPLE ?= ../shared/data/comnist-sample
gallery: setup
	$(BIN)/python site_gallery.py $(COMNIST_SAMPLE)

# axe-core, from the npm registry, audits every page and state of the site in the browser tests.
AXE := build/node/node_modules/axe-core/axe.min.js
axe: $(AXE)
$(AXE):
	npm install --prefix build/node --no-save --no-audit --no-fund --loglevel=error axe-core@4.14.1

lint: setup
	$(BIN)/ruff check .

test: setup browser fonts axe lint
	$(BIN)/pytest

bench: setup
	$(BIN)/python benchmarks/collector_bench.py --samples ../shared/data
	$(BIN)/python benchmarks/sanitizer_bench.py --samples ../shared/data
	$(BIN)/python benchmarks/export_bench.py
	$(BIN)/python benchmarks/event_storm_bench.py
	$(BIN)/python benchmarks/site_bench.py

# The letter classifier's not-a-letter pictures, committed as sanitizer/nonletters.npz: symbols
# of the DejaVu fonts and Quick, Draw! doodles (any .ndjson of Google's dataset, CC BY 4.0; only
# the half of its categories kept for teaching is drawn).
NONLETTER_FONTS ?= $(filter-out %Bold.ttf %BoldOblique.ttf %BoldItalic.ttf %MathTeXGyre.ttf,\
	$(wildcard /usr/share/fonts/truetype/dejavu/*.ttf))
QUICKDRAW ?= ../shared/data/quickdraw-sample/doodles.ndjson
nonletters: setup
	$(BIN)/comnist nonletters $(NONLETTER_FONTS) --quickdraw $(QUICKDRAW)

# The starter letter classifiers and their font letters, committed as sanitizer/starter.json and
# sanitizer/starter_letters.npz: every regular-weight DejaVu and Liberation face (Debian's
# fonts-dejavu-core, fonts-dejavu-extra and fonts-liberation), sorted so the build is reproducible,
# and the 2017 CoMNIST drawings (CC BY-SA 4.0, Gregory Vial and the CoMNIST contributors).
STARTER_FONTS ?= $(sort $(filter-out %Bold.ttf %BoldOblique.ttf %BoldItalic.ttf %MathTeXGyre.ttf,\
	$(wildcard /usr/share/fonts/truetype/dejavu/*.ttf /usr/share/fonts/truetype/liberation/*.ttf)))
STARTER_DRAWINGS ?= ../shared/data/comnist-sample
starter: setup fonts
	$(BIN)/comnist starter $(STARTER_FONTS) --drawings $(STARTER_DRAWINGS)

# The reference CNN's figures on the 2017 sample (CC BY-SA 4.0, Gregory Vial and the CoMNIST
# contributors), committed as comnist/release/reference_cnn.json: 3 seeds, about 4 CPU minutes
# of training after the import.
SAMPLE ?= ../shared/data/comnist-sample
reference-cnn: setup
	rm -rf build/sample-data build/sample-release
	$(BIN)/comnist import $(SAMPLE)/cyrillic --alphabet cyrillic --no-scoring --data build/sample-data
	$(BIN)/comnist import $(SAMPLE)/latin --alphabet latin --no-scoring --data build/sample-data
	$(BIN)/comnist export --out build/sample-release --data build/sample-data
	$(BIN)/comnist baseline build/sample-release --cnn --out comnist/release/reference_cnn.json \
		--note "the 2017 CoMNIST sample (4,470 Cyrillic and 179 Latin files) imported with comnist import, as scored on import by the starter letter classifier, exported with seed 0"

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache
