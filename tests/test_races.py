"""What a crowd does at once, on both storage backends: identical requests, redelivered events,
handlers dying half-way, the scheduled recount beside the events, a verdict beside a rescore.

Each race is made deterministic: a store wrapper holds every racer at a barrier just before the
write that matters, or runs the competing job at exactly the moment where it used to do harm.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import moto  # noqa: F401  (moto before boto3)
import pytest

from chalicelib import config, events, intake, sanitizing
from chalicelib.keys import DrawingRef
from chalicelib.storage import (
    LocalStorage,
    NotFound,
    ObjectInfo,
    PreconditionFailed,
    S3Storage,
    Storage,
    StoredObject,
    etag_of,
)
from chalicelib.validation import validate_drawing
from comnist.inventory import describe
from comnist.local import LambdaContext
from factories import SCHEDULED_EVENT, drawing_body, letter_count

ROOT = Path(__file__).resolve().parent.parent
RACERS = 8
WAIT_SECONDS = 30


class Crash(Exception):
    """A Lambda dying between two writes (timeout, out of memory, a lost container)."""


class Interposed(Storage):
    """Another store with hooks around its writes, to hold racers where their race is decided."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner
        self.name = inner.name
        self.before_put: Callable[[str], None] = lambda key: None
        self.before_put_tags: Callable[[str], None] = lambda key: None
        self.after_listing: Callable[[str], None] = lambda prefix: None
        self.written: list[str] = []
        self._lock = threading.Lock()

    def put(self, key: str, data: bytes, **kwargs: Any) -> str:
        self.before_put(key)
        etag = self.inner.put(key, data, **kwargs)
        with self._lock:
            self.written.append(key)
        return etag

    def get(self, key: str) -> StoredObject:
        return self.inner.get(key)

    def head(self, key: str) -> ObjectInfo | None:
        return self.inner.head(key)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def list_keys(self, prefix: str = "", start_after: str = "") -> Iterator[str]:
        yield from list(self.inner.list_keys(prefix, start_after))
        self.after_listing(prefix)

    def get_tags(self, key: str) -> dict[str, str]:
        return self.inner.get_tags(key)

    def put_tags(self, key: str, tags: dict[str, str]) -> None:
        self.before_put_tags(key)
        self.inner.put_tags(key, tags)


def first_calls_wait(barrier: threading.Barrier, match: Callable[[str], bool]):
    """A hook that holds the first ``barrier.parties`` matching calls until all have arrived."""
    arrived = {"n": 0}
    lock = threading.Lock()

    def hook(key: str) -> None:
        if not match(key):
            return
        with lock:
            arrived["n"] += 1
            waits = arrived["n"] <= barrier.parties
        if waits:
            barrier.wait(WAIT_SECONDS)

    return hook


def run_together(target: Callable[[int], Any], count: int = RACERS) -> list[Any]:
    """Run ``target(i)`` in ``count`` threads started at one barrier; return results in order."""
    start = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            start.wait(WAIT_SECONDS)
            results[i] = target(i)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_SECONDS * 2)
    if errors:
        raise errors[0]
    return results


@pytest.fixture(params=["local", "s3"])
def backend(request, tmp_path) -> Iterator[Storage]:
    """An empty drawings store, on a local directory or on moto's S3, installed for the app."""
    if request.param == "local":
        store: Storage = LocalStorage(tmp_path / "drawings")
        contributors: Storage = LocalStorage(tmp_path / "contributors")
        config.use_stores(store, contributors)
        yield store
    else:
        aws = request.getfixturevalue("aws")
        aws.create_bucket(Bucket="drawings")
        aws.create_bucket(Bucket="contributors")
        store = S3Storage("drawings", aws)
        config.use_stores(store, S3Storage("contributors", aws))
        yield store
    config._stores.clear()


def store_drawing(store: Storage, letter: str = "Ж") -> DrawingRef:
    body = drawing_body(letter=letter)
    assert intake.submit_drawing(store, validate_drawing(body))[0] == 201
    return DrawingRef("cyrillic", letter, body["id"])


def counted(store: Storage, letter: str) -> int:
    return letter_count(store, "cyrillic", letter)


def test_identical_posts_at_once_write_the_png_once_and_answer_201_once(backend):
    store = Interposed(backend)
    body = drawing_body()
    drawing = validate_drawing(body)
    png_key = DrawingRef("cyrillic", "Ж", body["id"]).png_key
    # Every request reaches the PNG before any of them has written it.
    store.before_put = first_calls_wait(threading.Barrier(RACERS), lambda key: key == png_key)

    answers = run_together(lambda i: intake.submit_drawing(store, drawing))

    assert sorted(status for status, _ in answers) == [200] * (RACERS - 1) + [201]
    assert all(answer == answers[0][1] for _, answer in answers)
    # On S3 every PNG write fires the sanitizer again and strips the tags it wrote.
    assert store.written.count(png_key) == 1


def test_an_event_delivered_many_times_at_once_counts_the_drawing_once(backend):
    ref = store_drawing(backend, "Д")
    store = Interposed(backend)
    # Every delivery has scored the drawing before any of them has tagged it.
    store.before_put_tags = first_calls_wait(threading.Barrier(RACERS), lambda key: True)

    results = run_together(lambda i: events.process_new_drawing(store, ref.png_key))

    assert {result["status"] for result in results} == {backend.get_tags(ref.png_key)["status"]}
    assert counted(backend, "Д") == 1
    events.process_new_drawing(backend, ref.png_key)  # and once more, much later
    assert counted(backend, "Д") == 1


@pytest.mark.parametrize("dies_at", [1, 2, 3], ids=lambda n: f"write-{n}-after-tagging")
def test_a_handler_dying_after_tagging_counts_the_drawing_on_retry(backend, dies_at):
    ref = store_drawing(backend, "Л")
    store = Interposed(backend)
    writes_after_tagging = {"n": 0, "tagged": False}

    def tagged(key: str) -> None:
        writes_after_tagging["tagged"] = True

    def maybe_die(key: str) -> None:
        if writes_after_tagging["tagged"]:
            writes_after_tagging["n"] += 1
            if writes_after_tagging["n"] == dies_at:
                raise Crash(key)

    store.before_put_tags, store.before_put = tagged, maybe_die
    with pytest.raises(Crash):
        events.process_new_drawing(store, ref.png_key)

    # Lambda retries; S3 may deliver the event again as well, at the same moment.
    run_together(lambda i: events.process_new_drawing(backend, ref.png_key))
    assert counted(backend, "Л") == 1


def test_the_scheduled_recount_beside_new_drawings_loses_no_count(backend, app_module):
    old = [store_drawing(backend, "О") for _ in range(3)]  # stored, never announced by an event
    for ref in old[:1]:
        events.process_new_drawing(backend, ref.png_key)
    store = Interposed(backend)
    config.use_stores(store, config.contributors_store())
    arrivals: list[DrawingRef] = []

    def new_drawings_arrive(prefix: str) -> None:
        # Right after the job has listed the drawings, a burst arrives and is counted by events,
        # each delivered twice at once.
        if prefix != "drawings/" or len(arrivals) >= 3 * RACERS:
            return
        burst = [store_drawing(backend, "О") for _ in range(RACERS // 2)]
        arrivals.extend(burst)
        run_together(lambda i: events.process_new_drawing(backend, burst[i // 2].png_key))

    store.after_listing = new_drawings_arrive
    app_module.refit_and_rescore(SCHEDULED_EVENT, LambdaContext())

    assert arrivals, "the scheduled job never listed the drawings"
    assert counted(backend, "О") == len(old) + len(arrivals)


@pytest.mark.parametrize("job", ["event", "rescore"])
def test_a_verdict_recorded_while_a_job_retags_the_drawing_is_kept(backend, job):
    ref = store_drawing(backend, "Ю")
    events.process_new_drawing(backend, ref.png_key)
    store = Interposed(backend)
    marked = {"done": False}

    def maintainer_marks_now(key: str) -> None:
        # The job has read what it needs and is about to write its tags: the maintainer marks.
        if not marked["done"]:
            marked["done"] = True
            sanitizing.mark(backend, ref.id, "rejected")

    store.before_put_tags = maintainer_marks_now
    if job == "event":
        events.process_new_drawing(store, ref.png_key)
    else:
        sanitizing.rescore(store, resume=False)

    assert marked["done"]
    assert describe(backend, ref.png_key)["verdict"] == "rejected"  # what `comnist list` shows
    assert backend.get_tags(ref.png_key)["verdict"] == "rejected"  # the copy for tag readers


def test_verdicts_recorded_by_many_threads_during_a_rescore_are_all_kept(backend):
    # In key order, the order in which the rescore takes them.
    refs = sorted((store_drawing(backend, "Ф") for _ in range(3 * RACERS)), key=lambda r: r.png_key)
    about_to_tag = {ref.png_key: threading.Event() for ref in refs}
    marked = {ref.png_key: threading.Event() for ref in refs}
    store = Interposed(backend)

    def wait_for_the_maintainer(key: str) -> None:
        # Every drawing is marked after the rescore has read it and before it writes its tags.
        if not about_to_tag[key].is_set():
            about_to_tag[key].set()
            assert marked[key].wait(WAIT_SECONDS)

    def verdict(i: int) -> str:
        return "rejected" if i % 2 else "ok"

    def one(i: int) -> None:
        if i == 0:
            sanitizing.rescore(store, resume=False, workers=4)
            return
        for j in range(i - 1, len(refs), RACERS - 1):
            assert about_to_tag[refs[j].png_key].wait(WAIT_SECONDS)
            sanitizing.mark(backend, refs[j].id, verdict(j))
            marked[refs[j].png_key].set()

    store.before_put_tags = wait_for_the_maintainer
    run_together(one)
    for j, ref in enumerate(refs):
        assert describe(backend, ref.png_key)["verdict"] == verdict(j)
        assert backend.get_tags(ref.png_key)["verdict"] == verdict(j)


def increment(store: Storage, key: str) -> None:
    """Add one to the number at ``key`` with an optimistic ``If-Match`` write, as counters do."""
    while True:
        try:
            current = store.get(key)
        except NotFound:
            try:
                store.put_json(key, 1, if_none_match=True)
                return
            except PreconditionFailed:
                continue
        try:
            store.put_json(key, json.loads(current.data) + 1, if_match=current.info.etag)
            return
        except PreconditionFailed:
            continue


def test_conditional_increments_from_many_threads_are_all_kept(backend):
    rounds = 150 if isinstance(backend, LocalStorage) else 40

    def worker(i: int) -> None:
        for _ in range(rounds):
            increment(backend, "stats/race.json")

    run_together(worker)
    assert backend.get_json("stats/race.json") == RACERS * rounds


def test_a_read_beside_a_half_done_local_write_never_pairs_a_new_etag_with_old_bytes(tmp_path):
    store = LocalStorage(tmp_path / "drawings")
    store.put_json("stats/race.json", 1)
    half_done, read_done = threading.Event(), threading.Event()
    commit_file = LocalStorage._commit

    def commit_and_pause(staged: Path, path: Path) -> None:
        commit_file(staged, path)
        if not half_done.is_set():  # one file of the object written, the others not yet
            half_done.set()
            read_done.wait(WAIT_SECONDS)

    store._commit = commit_and_pause  # type: ignore[method-assign]
    writer = threading.Thread(target=lambda: store.put_json("stats/race.json", 2))
    writer.start()
    assert half_done.wait(WAIT_SECONDS)
    seen = store.get("stats/race.json")
    read_done.set()
    writer.join(WAIT_SECONDS)

    assert seen.info.etag == etag_of(seen.data)
    try:
        store.put_json("stats/race.json", json.loads(seen.data) + 1, if_match=seen.info.etag)
    except PreconditionFailed:
        return
    assert store.get_json("stats/race.json") == 3, "an increment was lost"


INCREMENTING_PROCESS = """
import sys, threading
from chalicelib.storage import LocalStorage
from test_races import increment

store = LocalStorage(sys.argv[1])
start = threading.Barrier(4)

def work():
    start.wait()
    for _ in range(int(sys.argv[2])):
        increment(store, "stats/race.json")

threads = [threading.Thread(target=work) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
"""


def test_two_processes_on_one_local_store_keep_every_increment(tmp_path):
    """``comnist serve`` beside ``comnist import`` on one ``--data``: two processes, one store."""
    rounds = 100
    command = [sys.executable, "-c", INCREMENTING_PROCESS, str(tmp_path / "drawings"), str(rounds)]
    env = {"PYTHONPATH": f"{ROOT / 'tests'}:{ROOT / 'collector'}:{ROOT}"}
    processes = [subprocess.Popen(command, cwd=ROOT, env=env) for _ in range(2)]
    assert [process.wait(120) for process in processes] == [0, 0]
    assert LocalStorage(tmp_path / "drawings").get_json("stats/race.json") == 2 * 4 * rounds
