"""Real headless Chromium (Debian's ``chromium``) driving the site served by ``comnist serve``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from browserkit import CHROMIUM_ARGS
from factories import ServedSystem

ROOT = Path(__file__).resolve().parents[2]


def chromium_path() -> str:
    """Debian's Chromium; its absence fails the suite, so a broken setup never passes as skipped."""
    path = "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium")
    if not path:
        pytest.fail("Debian's chromium is not installed: run `make test`, which installs it")
    return path


class LiveSystem(ServedSystem):
    """``comnist serve`` on a free port with its own data directory and a freshly built site."""

    def __init__(self, root: Path) -> None:
        super().__init__(root / "data", root / "site")
        self.root = root

    def build_arguments(self) -> list[str]:
        """``build_site.py``'s arguments for this system, as the Makefile passes them."""
        return [
            "--out",
            str(self.site),
            "--site-url",
            self.url,
            "--contributors-data",
            str(self.data / "contributors"),
            "--drawings-data",
            str(self.data / "drawings"),
        ]

    def build_site(self) -> None:
        subprocess.run(
            [sys.executable, "build_site.py", *self.build_arguments()],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )

    def drawings(self, alphabet: str | None = None) -> list[Path]:
        base = self.data / "drawings" / "drawings"
        if alphabet:
            base = base / alphabet
        return sorted(base.rglob("*.png")) if base.exists() else []


@pytest.fixture(scope="session")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveSystem]:
    system = LiveSystem(tmp_path)
    system.build_site()
    system.start()
    yield system
    system.stop()


@pytest.fixture
def live_without_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveSystem]:
    """A system whose store has no model and whose package lacks the starter model."""
    import build_site
    import sanitizer

    monkeypatch.setattr(sanitizer, "starter_model", lambda: None)
    monkeypatch.chdir(ROOT)
    system = LiveSystem(tmp_path)
    assert build_site.main(system.build_arguments()) == 0
    system.start()
    yield system
    system.stop()


@pytest.fixture(scope="session")
def letter_model_json() -> bytes:
    """A sanitizer model fitted on synthetic Latin letters (few distorted copies: it is fast)."""
    from unittest import mock

    import sanitizer.model
    from letterstrokes import letter_model

    with mock.patch.object(sanitizer.model, "MAX_COPIES", 3):
        return letter_model().to_json()


@pytest.fixture
def live_guess(tmp_path: Path, letter_model_json: bytes) -> Iterator[LiveSystem]:
    """``comnist serve`` with a current letter model in its store, the site built with it."""
    from chalicelib.keys import MODELS_CURRENT_KEY, model_key
    from chalicelib.storage import LocalStorage

    system = LiveSystem(tmp_path)
    store = LocalStorage(system.data / "drawings")
    store.put(model_key("m-test"), letter_model_json, content_type="application/json")
    store.put_json(MODELS_CURRENT_KEY, {"version": "m-test", "key": model_key("m-test")})
    system.build_site()
    system.start()
    yield system
    system.stop()


@pytest.fixture
def phone(browser):
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
        locale="ru-RU",
    )
    yield context
    context.close()


@pytest.fixture
def desktop(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    yield context
    context.close()
