"""Failed uploads leave nothing behind for long: the orphan sweep, and local disks that fail.

The API never deletes. An upload that fails half-way leaves a claim (and maybe a record) that
its retry finishes; the sweep removes those whose retry never came, after an hour. A local disk
that is full, read-only or not ours fails before anything of an object is in place.
"""

from __future__ import annotations

import calendar
import errno
import os
import time
import uuid
from pathlib import Path

import moto  # noqa: F401  (moto before boto3)
import pytest
import test_races
from test_races import Interposed

from chalicelib import intake, sweep
from chalicelib.keys import DrawingRef, request_key
from chalicelib.storage import ListedObject, LocalStorage, StorageUnavailable
from chalicelib.validation import validate_drawing
from factories import drawing_body, post_json

backend = test_races.backend  # a folder and moto's S3, as in the race tests
LATER = 2 * sweep.ORPHAN_AGE_SECONDS


def half_written(store, letter: str = "Ж", with_record: bool = True) -> DrawingRef:
    """A drawing whose upload stopped before its PNG: its claim, and its record if asked."""
    body = drawing_body(letter=letter)
    ref = DrawingRef("cyrillic", letter, body["id"])
    intake.claim_id(store, ref.id, "digest", ref.png_key, intake.utc_now())
    if with_record:
        store.put_json(ref.record_key, {"id": ref.id})
    return ref


def test_claims_and_records_without_a_drawing_go_after_an_hour_and_nothing_else(backend):
    whole = test_races.store_drawing(backend, "Ж")
    orphan = half_written(backend, "Д")
    claim_only = half_written(backend, "Л", with_record=False)
    backend.put_json("drawings/cyrillic/U+041E/" + str(uuid.uuid4()) + ".png", {})  # no record
    before = sorted(backend.list_keys())

    assert sweep.sweep_orphans(backend) == {"records": 0, "claims": 0}, "too young to be orphans"
    assert sorted(backend.list_keys()) == before

    removed = sweep.sweep_orphans(backend, now=time.time() + LATER)

    assert removed == {"records": 1, "claims": 2}
    gone = {orphan.record_key, request_key(orphan.id), request_key(claim_only.id)}
    assert sorted(backend.list_keys()) == sorted(set(before) - gone)
    for key in (whole.png_key, whole.record_key, request_key(whole.id)):
        assert backend.exists(key), "a whole drawing keeps its partners"


def test_a_retry_after_the_sweep_still_stores_the_drawing(backend):
    body = drawing_body()
    ref = DrawingRef("cyrillic", "Ж", body["id"])
    store = Interposed(backend)

    def png_fails(key: str) -> None:
        if key == ref.png_key:
            raise StorageUnavailable("S3 is down")

    store.before_put = png_fails
    with pytest.raises(Exception, match="storage is unavailable"):
        intake.submit_drawing(store, validate_drawing(body))
    assert sweep.sweep_orphans(backend, now=time.time() + LATER) == {"records": 1, "claims": 1}
    assert intake.submit_drawing(backend, validate_drawing(body))[0] == 201
    assert backend.exists(ref.png_key) and backend.exists(ref.record_key)


class FinishedDuringTheSweep(Interposed):
    """A store on which an old upload's retry stores its PNG right after the sweep listed PNGs."""

    def __init__(self, inner, finish) -> None:
        super().__init__(inner)
        self.finish = finish

    def list_objects(self, prefix: str = ""):
        return self.inner.list_objects(prefix)

    def list_keys(self, prefix: str = "", start_after: str = ""):
        yield from super().list_keys(prefix, start_after)
        if prefix == "drawings/":
            self.finish()


def test_a_drawing_finished_while_the_sweep_runs_keeps_its_claim_and_record(backend):
    ref = half_written(backend)
    store = FinishedDuringTheSweep(
        backend, lambda: backend.put(ref.png_key, b"png", content_type="image/png")
    )
    assert sweep.sweep_orphans(store, now=time.time() + LATER) == {"records": 0, "claims": 0}
    assert backend.exists(ref.record_key) and backend.exists(request_key(ref.id))


def test_the_orphan_core_takes_records_before_claims():
    old, young = 100.0, 5000.0
    claims = [ListedObject(f"requests/{'a' * 8}-aaaa-aaaa-aaaa-{'a' * 12}.json", old)]
    records = [
        ListedObject(f"strokes/latin/U+0041/{'a' * 8}-aaaa-aaaa-aaaa-{'a' * 12}.json", old),
        ListedObject(f"strokes/latin/U+0041/{'b' * 8}-bbbb-bbbb-bbbb-{'b' * 12}.json", young),
        ListedObject(f"strokes/latin/U+0041/{'c' * 8}-cccc-cccc-cccc-{'c' * 12}.json", old),
    ]
    drawn = {f"{'c' * 8}-cccc-cccc-cccc-{'c' * 12}"}
    assert sweep.orphans(claims, records, drawn, before=1000.0) == [records[0].key, claims[0].key]


def test_serve_sweeps_old_slots_and_interrupted_writes(tmp_path):
    store = LocalStorage(tmp_path / "drawings")
    old_slot = f"limits/{uuid.uuid4()}/cyrillic/U+0416/20261125T03/00000.json"
    current_slot = f"limits/{uuid.uuid4()}/cyrillic/U+0416/20261127T03/00000.json"
    store.put_json(old_slot, {"id": "x"})
    store.put_json(current_slot, {"id": "y"})
    stray = tmp_path / "drawings" / "drawings" / "cyrillic" / "U+0416" / "stray.png"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"a PNG whose metadata was never written")
    staged = tmp_path / "drawings" / ".meta" / ".tmp-abc"
    staged.parent.mkdir(parents=True, exist_ok=True)
    staged.write_bytes(b"{}")
    now = calendar.timegm((2026, 11, 27, 3, 30, 0))
    for path in (stray, staged):
        os.utime(path, (now - LATER, now - LATER))

    removed = sweep.sweep_local(store, now=now)

    assert removed["slots"] == 1 and removed["partial_writes"] == 2
    assert not store.exists(old_slot) and store.exists(current_slot)
    assert not stray.exists() and not staged.exists()


# --- a local disk that fails ---------------------------------------------------------------------


def fail_the_nth_staged_file(monkeypatch, n: int, code: int) -> dict[str, int]:
    """Make the ``n``-th file a local store stages fail with the OS error ``code``."""
    stage = LocalStorage._stage
    calls = {"n": 0}

    def failing(path: Path, data: bytes) -> Path:
        calls["n"] += 1
        if calls["n"] == n:
            raise OSError(code, os.strerror(code), str(path))
        return stage(path, data)

    monkeypatch.setattr(LocalStorage, "_stage", staticmethod(failing))
    return calls


def partial_files(root: Path) -> list[str]:
    """Staged files, and objects' data without metadata: what a half-done write leaves."""
    found = []
    for path in (p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        is_data = not relative.startswith(".")
        if path.name.startswith(".tmp-") or (
            is_data and not (root / ".meta" / (relative + ".json")).exists()
        ):
            found.append(relative)
    return found


# Files a new drawing stages: the cap's slot, the claim, the record, the PNG (data and
# metadata each).
FILES_OF_A_DRAWING = 8


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES], ids=errno.errorcode.get)
@pytest.mark.parametrize("n", range(1, FILES_OF_A_DRAWING + 1))
def test_a_failing_disk_is_503_with_retry_after_and_nothing_half_written(
    client, stores, monkeypatch, code, n
):
    drawings = stores[0]
    body = drawing_body()
    ref = DrawingRef("cyrillic", "Ж", body["id"])
    calls = fail_the_nth_staged_file(monkeypatch, n, code)

    response = post_json(client, "/drawings", body)

    assert calls["n"] >= n, "the failure was injected"
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert "retry with the same id" in response.json_body["error"]
    assert partial_files(drawings.root) == []
    assert not drawings.exists(ref.png_key), "no drawing until the retry"
    monkeypatch.undo()
    assert post_json(client, "/drawings", body).status_code == 201
    assert drawings.exists(ref.record_key) and drawings.exists(ref.png_key)
    assert partial_files(drawings.root) == []


def test_a_failing_disk_answers_503_for_contributors_and_stats_too(client, stores, monkeypatch):
    session = str(uuid.uuid4())
    fail_the_nth_staged_file(monkeypatch, 1, errno.ENOSPC)
    body = {"session": session, "consent": {"thanks_page": False, "updates": False}}
    response = post_json(client, "/contributors", body)
    assert response.status_code == 503 and int(response.headers["Retry-After"]) > 0
    assert partial_files(stores[1].root) == []

    def unreadable(self, key):
        raise OSError(errno.EACCES, "Permission denied", key)

    monkeypatch.setattr(LocalStorage, "_read_meta", unreadable)
    stats = client.http.get("/stats")
    assert stats.status_code == 503 and int(stats.headers["Retry-After"]) > 0
    assert "error" in stats.json_body
