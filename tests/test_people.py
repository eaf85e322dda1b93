"""People and their data: names wait for approval, the mailing list, erasure on request.

Every test runs on both storage backends: the local directory and S3 (moto), whose buckets keep
versions, so that an erasure is seen to leave no earlier version behind.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from dataclasses import dataclass

import pytest

import build_site
from chalicelib import intake, stats
from chalicelib.keys import DrawingRef
from chalicelib.sanitizing import mark
from chalicelib.storage import LocalStorage, S3Storage, Storage
from chalicelib.validation import validate_contributor, validate_drawing
from comnist.cli import main
from comnist.contributors import approved_names, read_contributors
from comnist.forget import deletion_code, normalised_code
from factories import drawing_body


@dataclass
class System:
    kind: str
    drawings: Storage
    contributors: Storage
    people_args: list[str]  # where ``comnist contributors`` finds the records
    store_args: list[str]  # where ``comnist forget`` finds records and drawings
    aws: object

    def versions(self, store: Storage) -> list[str]:
        """Every key the store keeps in any version (current, earlier or a delete marker)."""
        if isinstance(store, LocalStorage):
            return list(store.list_keys())
        pages = self.aws.get_paginator("list_object_versions").paginate(Bucket=store.bucket)
        return [
            item["Key"]
            for page in pages
            for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
        ]


@pytest.fixture(params=["local", "s3"])
def system(request, tmp_path, aws, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default built site, ./build/site, is this test's own
    if request.param == "local":
        data = tmp_path / "data"
        return System(
            "local",
            LocalStorage(data / "drawings"),
            LocalStorage(data / "contributors"),
            ["--data", str(data)],
            ["--data", str(data)],
            aws,
        )
    for bucket in ("drawings", "contributors"):
        aws.create_bucket(Bucket=bucket)
        aws.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return System(
        "s3",
        S3Storage("drawings", aws),
        S3Storage("contributors", aws),
        ["--contributors-bucket", "contributors"],
        ["--bucket", "drawings", "--contributors-bucket", "contributors"],
        aws,
    )


def session_id() -> str:
    return str(uuid.uuid4())


def leave(system: System, session: str, name=None, email=None) -> None:
    """A participant sends the finish form, through the collector's own validation and intake."""
    body = {
        "session": session,
        "name": name,
        "email": email,
        "consent": {"thanks_page": name is not None, "updates": email is not None},
        "count": 3,
    }
    intake.submit_contributor(system.contributors, validate_contributor(body))


def draw(system: System, session: str, letter: str = "Ж", alphabet: str = "cyrillic") -> DrawingRef:
    """A participant's drawing, stored by the intake and counted as the event handler counts it."""
    drawing = validate_drawing(drawing_body(session=session, letter=letter, alphabet=alphabet))
    intake.submit_drawing(system.drawings, drawing)
    ref = DrawingRef(alphabet, letter, drawing.id)
    assert stats.count_drawing(system.drawings, ref, intake.utc_now())
    return ref


def count(system: System, letter: str, alphabet: str = "cyrillic") -> int:
    counters = stats.letter_counts(system.drawings, [(alphabet, letter)])
    return int(counters[(alphabet, letter)]["count"])


def run(*argv: str) -> int:
    return main(list(argv))


# --- names wait for the maintainer's approval ---------------------------------------------------


def test_pending_names_are_listed_then_approved_or_rejected_by_short_id(system, capsys):
    ann, bob, eve, quiet = (session_id() for _ in range(4))
    leave(system, ann, "Ann")
    leave(system, bob, "Bob")
    leave(system, eve, "Eve")
    leave(system, quiet, email="quiet@example.org")  # no name: nothing to approve
    assert run("contributors", *system.people_args) == 0
    listed = capsys.readouterr().out.splitlines()
    assert sorted(line.split("\t")[2] for line in listed) == ["Ann", "Bob", "Eve"]
    assert all(line.split("\t")[1] == "pending" for line in listed)
    # By short id, with the store's arguments after the subcommand or before it.
    assert run("contributors", "approve", ann[:8], bob, *system.people_args) == 0
    assert run("contributors", *system.people_args, "reject", eve[:6]) == 0
    capsys.readouterr()
    assert approved_names(read_contributors(system.contributors)) == ["Ann", "Bob"]
    assert run("contributors", *system.people_args) == 0
    assert capsys.readouterr().out == "", "nothing is pending any more"
    assert run("contributors", *system.people_args, "--status", "rejected") == 0
    assert capsys.readouterr().out.split("\t")[:3] == [eve[:8], "rejected", "Eve"]
    # A new name from an approved session waits again; a withdrawn consent leaves the page.
    leave(system, ann, "Ann Two")
    leave(system, bob, None)
    assert approved_names(read_contributors(system.contributors)) == []
    assert run("contributors", "approve", "0000", *system.people_args) == 2


def test_mailing_list_holds_only_consented_addresses_once_readable_by_the_owner(
    system, tmp_path, capsys
):
    leave(system, session_id(), "Ann", "ann@example.org")
    leave(system, session_id(), email="Ann@Example.org")  # the same address, another session
    leave(system, session_id(), email="bob@example.org")
    leave(system, session_id(), "Named only")
    # A record from before consent was checked, with an address but no consent to updates.
    system.contributors.put_json(
        f"contributors/{session_id()}.json",
        {
            "name": None,
            "email": "no@example.org",
            "consent": {"thanks_page": False, "updates": False},
        },
    )
    out = tmp_path / "mailing.csv"
    assert run("contributors", *system.people_args, "--emails", "--out", str(out)) == 0
    lines = out.read_text().splitlines()  # one spelling of Ann's address: the last one sent
    assert [line.casefold() for line in lines] == ["email", "ann@example.org", "bob@example.org"]
    assert os.stat(out).st_mode & 0o777 == 0o600
    assert run("contributors", *system.people_args, "--emails") == 0
    assert capsys.readouterr().out == out.read_text()


def test_no_lambda_may_read_names_approvals_or_erasures():
    from comnist.grants import GRANTS

    for function, grants in GRANTS.items():
        for action, resource in grants:
            if resource.startswith("<contributors>"):
                assert action == "s3:PutObject", (function, action, resource)
                assert resource in ("<contributors>/contributors/*", "<contributors>/created/*")


# --- erasure --------------------------------------------------------------------------------------


def test_forget_with_drawings_erases_every_trace_and_exactly_its_counts(system, capsys):
    ann, bob = session_id(), session_id()
    leave(system, ann, "Ann Secret", "ann.secret@example.org")
    leave(system, bob, "Bob")
    run("contributors", "approve", ann, bob, *system.people_args)
    mine = [draw(system, ann), draw(system, ann), draw(system, ann, "Б")]
    theirs = draw(system, bob)
    mark(system.drawings, mine[0].id, "rejected")
    before_bob = sorted(k for k in system.drawings.list_keys() if theirs.id in k)
    assert (count(system, "Ж"), count(system, "Б")) == (3, 1)
    capsys.readouterr()

    assert run("forget", "--session", ann, "--drawings", *system.store_args) == 0
    output = capsys.readouterr()
    summary = json.loads(output.out)
    assert summary["drawings"] == summary["records"] == summary["claims"] == 3
    assert (summary["uncounted"], summary["verdicts"], summary["contributor_records"]) == (3, 1, 1)
    assert summary["approvals"] == 1 and summary["limit_slots"] == 3  # the per-session cap's
    assert (count(system, "Ж"), count(system, "Б")) == (1, 0)
    # Nothing of Ann is left in any version; Bob's drawing and record are untouched.
    every_key = system.versions(system.drawings) + system.versions(system.contributors)
    assert not [k for k in every_key if ann in k or any(ref.id in k for ref in mine)]
    assert sorted(k for k in system.drawings.list_keys() if theirs.id in k) == before_bob
    assert approved_names(read_contributors(system.contributors)) == ["Bob"]
    # What is logged and kept says how much went, never whose.
    kept = [k for k in system.contributors.list_keys("erasures/")]
    assert len(kept) == 1
    record = json.dumps(system.contributors.get_json(kept[0])) + output.out + output.err
    for secret in (ann, "Ann Secret", "ann.secret@example.org", *(ref.id for ref in mine)):
        assert secret not in record

    # A second run finds nothing more; a late event cannot count an erased drawing again.
    assert run("forget", "--session", ann, "--drawings", *system.store_args) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["drawings"] == again["uncounted"] == again["contributor_records"] == 0
    assert not stats.count_drawing(system.drawings, mine[0], intake.utc_now())
    assert (count(system, "Ж"), count(system, "Б")) == (1, 0)


def test_forget_without_drawings_keeps_them_and_their_counts(system, capsys):
    ann = session_id()
    leave(system, ann, "Ann", "ann@example.org")
    ref = draw(system, ann)
    assert run("forget", "--email", "ANN@example.org", *system.store_args) == 0
    assert json.loads(capsys.readouterr().out)["contributor_records"] == 1
    assert not [k for k in system.versions(system.contributors) if ann in k]
    assert system.drawings.exists(ref.png_key) and count(system, "Ж") == 1


def test_forget_by_deletion_code_finds_a_session_that_left_no_name(system, capsys):
    ann, bob = session_id(), session_id()
    mine, theirs = draw(system, ann, "A", "latin"), draw(system, bob, "A", "latin")
    code = deletion_code(ann).upper().replace("-", " ")  # as a person might type it
    assert run("forget", "--code", code, "--drawings", *system.store_args) == 0
    assert json.loads(capsys.readouterr().out)["drawings"] == 1
    assert not system.drawings.exists(mine.png_key) and system.drawings.exists(theirs.png_key)
    assert count(system, "A", "latin") == 1
    assert run("forget", "--code", deletion_code(ann), *system.store_args) == 1  # nothing left


def test_a_name_that_matches_several_people_is_not_erased_without_saying_so(system, capsys):
    first, second = session_id(), session_id()
    leave(system, first, "Anna")
    leave(system, second, "anna")
    assert run("forget", "--name", "Anna", *system.store_args) == 2
    assert "2 sessions match" in capsys.readouterr().err
    assert len(read_contributors(system.contributors)) == 2
    assert run("forget", "--name", "Anna", "--all-matching", *system.store_args) == 0
    assert read_contributors(system.contributors) == []


def test_forgetting_a_listed_name_publishes_the_page_without_it(system, tmp_path, capsys):
    ann, bob = session_id(), session_id()
    leave(system, ann, "Ann")
    leave(system, bob, "Bob")
    site = build_site.build(tmp_path / "site")
    page = site / "en" / "contributors.html"
    assert run("contributors", "approve", ann, bob, *system.people_args, "--site", str(site)) == 0
    assert "<li>Ann</li>" in page.read_text() and "<li>Bob</li>" in page.read_text()
    assert run("forget", "--session", ann, *system.store_args, "--site", str(site)) == 0
    assert "<li>Ann</li>" not in page.read_text() and "<li>Bob</li>" in page.read_text()


def test_uncounting_races_with_late_and_repeated_counting(system):
    """Event handlers count while the erasure runs: each drawing ends counted once or not at all."""
    session = session_id()
    refs = []
    for _ in range(8):
        drawing = validate_drawing(drawing_body(session=session))
        intake.submit_drawing(system.drawings, drawing)
        refs.append(DrawingRef("cyrillic", "Ж", drawing.id))
    erased, kept = refs[::2], refs[1::2]
    now = intake.utc_now()
    jobs = [lambda r=ref: stats.count_drawing(system.drawings, r, now) for ref in refs * 2]
    jobs += [lambda r=ref: stats.uncount_drawing(system.drawings, r, now) for ref in erased]
    jobs += [lambda r=ref: stats.uncount_drawing(system.drawings, r, now) for ref in erased]
    errors: list[BaseException] = []

    def work(part: list) -> None:
        try:
            for job in part:
                job()
        except BaseException as error:  # noqa: BLE001  (reported below)
            errors.append(error)

    threads = [threading.Thread(target=work, args=(jobs[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for ref in refs:  # the handlers' retries, after the race
        stats.count_drawing(system.drawings, ref, now)
    assert count(system, "Ж") == len(kept)
    counter = system.drawings.get_json("stats/letters/cyrillic/U+0416.json")
    assert counter["pending"] == [] and sorted(counter["forgotten"]) == sorted(r.id for r in erased)


def test_deletion_codes_are_short_stable_and_typed_loosely():
    session = "0b6e6a2e-4a7f-4b7a-9d55-8f3b2c1d0e9f"
    code = deletion_code(session)
    assert len(code) == 14 and code.count("-") == 2 and code == deletion_code(session.upper())
    assert normalised_code(code.upper().replace("-", "")) == code
    with pytest.raises(ValueError):
        normalised_code("not-a-code")


def test_the_stage_keeps_the_contact_address_for_the_site_build(tmp_path):
    import shutil

    from comnist.cloud import CHALICE_DIR, bucket_names, write_stage_config

    chalice_dir = tmp_path / ".chalice"
    shutil.copytree(CHALICE_DIR, chalice_dir)
    names = bucket_names("people", "123456789012")
    site = "https://draw.example.org"
    options = {"region": "eu-west-1", "account": "123456789012"}
    write_stage_config("people", names, site, chalice_dir, **options, contact="m@example.org")
    config = chalice_dir / "config.json"
    assert build_site.stage_contact("people", config) == "m@example.org"
    write_stage_config("people", names, site, chalice_dir, **options)  # a rerun without it keeps it
    assert build_site.stage_contact("people", config) == "m@example.org"
    assert build_site.stage_contact("elsewhere", config) is None
