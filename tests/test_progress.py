"""The progress report: a bar redrawn in place on a terminal, a few whole lines in a log."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from test_import import on_white, with_times

from comnist.progress import Progress


class Clock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_log_gets_a_line_per_tenth_of_the_work_but_never_more_than_one_per_30_seconds():
    clock, log = Clock(), io.StringIO()
    with Progress(4646, "scoring", stream=log, unit="drawings", clock=clock) as bar:
        for _ in range(4646):
            clock.now += 1.0  # slow work: the tenth decides
            bar.advance()
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue()
    assert len(lines) == 10, lines  # at 10 %, 20 % ... 90 %, and the closing line
    assert lines[0] == "scoring: 465/4646 drawings, 10 % (1/s, 465 s)"
    assert lines[-1].startswith("scoring: 4646/4646 drawings, 100 % (1/s, done in 4646 s)")

    clock, log = Clock(), io.StringIO()
    with Progress(100_000, "writing", stream=log, clock=clock) as bar:
        for _ in range(100_000):
            clock.now += 0.001  # fast work: 30 seconds decide, here after the tenth
            bar.advance()
    lines = log.getvalue().splitlines()
    assert len(lines) == 4, lines  # at 30 s, 60 s, 90 s, then the end at 100 s
    assert lines[0].startswith("writing: 30000/100000, 30 %")


def test_an_unknown_total_logs_every_30_seconds_and_a_terminal_gets_the_bar():
    clock, log = Clock(), io.StringIO()
    with Progress(None, "reading metadata", stream=log, unit="drawings", clock=clock) as bar:
        for _ in range(100):
            clock.now += 1.0
            bar.advance()
    assert len(log.getvalue().splitlines()) == 4  # 30, 60, 90 s and the end

    clock, screen = Clock(), io.StringIO()
    with Progress(
        59, "sampling", stream=screen, unit="letters", interactive=True, clock=clock
    ) as bar:
        for _ in range(59):
            clock.now += 0.2
            bar.advance()
    text = screen.getvalue()
    assert text.count("\r") == 60 and text.endswith("59/59 letters (5/s)\n")


def test_a_non_terminal_import_log_has_a_few_progress_lines(tmp_path: Path):
    folder = tmp_path / "cyrillic" / "Л"
    folder.mkdir(parents=True)
    for n in range(40):
        stroke = [[10 + n, 50, 85], [90, 10, 90]]  # 40 different images
        (folder / f"{0x58A1B2C3 + 5 * n:08x}{n:05x}.png").write_bytes(
            on_white(with_times([stroke]))
        )
    command = [sys.executable, "-m", "comnist", "import", str(folder.parent), "--alphabet"]
    command += ["cyrillic", "--data", str(tmp_path / "data")]
    log = tmp_path / "import.log"
    with open(log, "w", encoding="utf-8") as handle:
        subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, check=True, timeout=600)
    lines = log.read_text(encoding="utf-8").splitlines()
    assert "\r" not in log.read_text(encoding="utf-8")
    stages = ("importing", "choosing", "fitting", "scoring")
    progress = [line for line in lines if line.startswith(stages)]
    assert 3 <= len(progress) <= 20, lines
    assert any(line.startswith("importing: 40/40 files, 100 %") for line in progress)
    assert any("59/59 letters" in line for line in progress if line.startswith("choosing"))
    assert any("40/40 drawings" in line for line in progress if line.startswith("scoring"))
