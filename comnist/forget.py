"""``comnist forget``: erase a person on request: their contributor record and, if asked, their drawings.

A person is found by session, e-mail, name or the deletion code the site shows them (the first
12 hex digits of SHA-256 of ``comnist-deletion-code:<session>``, computed in their browser from
the session it keeps). With ``--drawings``, every drawing whose record carries one of their
sessions goes too, with all that belongs to it: the PNG and its tags, the record, the
idempotency claim, the count marker, the maintainer's verdict, its review-queue marker, the
per-session cap's slots and its place in its letter's counter (:func:`chalicelib.stats.uncount_drawing`, exact and safe
against the event handlers).

Objects are erased with :meth:`Storage.erase`: on a versioned bucket every earlier version and
delete marker goes as well, so nothing of the person can be restored. Each drawing's record goes
last: until then a retry (after a crash, say) finds the drawing again and finishes the job.

What was removed is printed and kept in the contributors bucket (``erasures/``) as counts only:
never a name, an e-mail, a session or a drawing id.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import re
import sys
import unicodedata
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from chalicelib import flagged
from chalicelib.intake import utc_now
from chalicelib.keys import (
    RECORDS_PREFIX,
    DrawingRef,
    approval_key,
    contributor_created_key,
    contributor_key,
    parse_record_key,
    request_key,
)
from chalicelib.limits import LIMITS_PREFIX
from chalicelib.stats import uncount_drawing
from chalicelib.storage import LocalStorage, NotFound, S3Storage, Storage

from .contributors import (
    APPROVED,
    Contributor,
    add_page_arguments,
    publish_page,
    read_contributors,
)
from .progress import Progress

log = logging.getLogger(__name__)

CODE_PREFIX = "comnist-deletion-code:"
CODE_DIGITS = 12
READ_WORKERS = 16


def deletion_code(session: str) -> str:
    """The code the site shows for ``session``: 12 hex digits of a SHA-256, in groups of four."""
    digest = hashlib.sha256((CODE_PREFIX + str(uuid.UUID(session))).encode()).hexdigest()
    code = digest[:CODE_DIGITS]
    return "-".join(code[i : i + 4] for i in range(0, CODE_DIGITS, 4))


def normalised_code(code: str) -> str:
    """A deletion code as typed (any case, with or without dashes or spaces) in its shown form."""
    digits = re.sub(r"[\s-]", "", code).lower()
    if not re.fullmatch(f"[0-9a-f]{{{CODE_DIGITS}}}", digits):
        raise ValueError(f"a deletion code is {CODE_DIGITS} hex digits, such as 3f2a-09bc-771e")
    return "-".join(digits[i : i + 4] for i in range(0, CODE_DIGITS, 4))


def _folded(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip().casefold()


@dataclass
class Erased:
    """What an erasure removed, in counts only: this is what is logged and kept."""

    sessions: int = 0
    contributor_records: int = 0
    approvals: int = 0
    drawings: int = 0
    records: int = 0
    claims: int = 0
    verdicts: int = 0
    limit_slots: int = 0
    uncounted: int = 0
    object_versions: int = 0

    def add(self, field: str, versions: int) -> None:
        """Count one object kind if any version of it went, and every version that went."""
        if versions:
            setattr(self, field, getattr(self, field) + 1)
            self.object_versions += versions


def drawing_sessions(
    store: Storage, workers: int = READ_WORKERS
) -> Iterator[tuple[DrawingRef, str]]:
    """``(drawing, session)`` for every stored drawing record: a listing and one read per record.

    Records are the only place a drawing's session is kept, so an erasure by session reads them
    all (measured in docs/maintaining.md).
    """
    keys = [key for key in store.list_keys(RECORDS_PREFIX) if key.endswith(".json")]

    def read(key: str) -> tuple[DrawingRef, str] | None:
        try:
            ref = parse_record_key(key)
            record = store.get_json(key)
        except (ValueError, NotFound):
            return None
        session = record.get("session") if isinstance(record, dict) else None
        return (ref, session) if isinstance(session, str) else None

    with (
        Progress(len(keys), "read drawing records", unit="records") as progress,
        ThreadPoolExecutor(workers) as pool,
    ):
        for found in pool.map(read, keys):
            progress.advance()
            if found is not None:
                yield found


def sessions_matching(
    contributors: Iterable[Contributor],
    *,
    session: str | None = None,
    email: str | None = None,
    name: str | None = None,
) -> set[str]:
    """The sessions a request names by session, e-mail (any case) or name (any case)."""
    if session:
        return {str(uuid.UUID(session))}
    if email:
        return {c.session for c in contributors if c.email and _folded(c.email) == _folded(email)}
    if name:
        return {c.session for c in contributors if c.name and _folded(c.name) == _folded(name)}
    return set()


def sessions_with_code(code: str, sessions: Iterable[str]) -> set[str]:
    """The sessions among ``sessions`` whose deletion code is ``code``."""
    wanted = normalised_code(code)
    return {s for s in set(sessions) if deletion_code(s) == wanted}


def forget_contributor(contributors_store: Storage, session: str, erased: Erased) -> None:
    """Erase a session's contributor record, its creation marker and the decision on its name."""
    erased.add("contributor_records", contributors_store.erase(contributor_key(session)))
    contributors_store.erase(contributor_created_key(session))
    erased.add("approvals", contributors_store.erase(approval_key(session)))


def forget_drawing(store: Storage, ref: DrawingRef, erased: Erased, now: str) -> None:
    """Erase one drawing and everything that belongs to it, its count included; safe to repeat.

    The PNG goes first, so that no listing, release or recount sees the drawing any more; the
    record last, so that a retry still finds what is left.
    """
    erased.add("drawings", store.erase(ref.png_key))
    erased.uncounted += uncount_drawing(store, ref, now)
    erased.add("claims", store.erase(request_key(ref.id)))
    erased.add("verdicts", store.erase(ref.verdict_key))
    erased.object_versions += flagged.erase_markers(store, ref)
    erased.add("records", store.erase(ref.record_key))


def forget(
    drawings_store: Storage,
    contributors_store: Storage,
    sessions: set[str],
    *,
    drawings: bool,
    found: list[tuple[DrawingRef, str]] | None = None,
    now: str | None = None,
) -> Erased:
    """Erase the contributor records of ``sessions`` and, with ``drawings``, their drawings.

    ``found`` are the ``(drawing, session)`` pairs already read, if the caller has them.
    """
    now = now or utc_now()
    erased = Erased(sessions=len(sessions))
    for session in sorted(sessions):
        forget_contributor(contributors_store, session, erased)
    if drawings:
        pairs = found if found is not None else drawing_sessions(drawings_store)
        for ref, session in pairs:
            if session in sessions:
                forget_drawing(drawings_store, ref, erased, now)
        for session in sorted(sessions):
            # The per-session cap's slots name the session and its drawings' ids.
            slots = drawings_store.erase_prefix(f"{LIMITS_PREFIX}{session}/")
            erased.limit_slots += slots
            erased.object_versions += slots
    keep_record(contributors_store, erased, now)
    return erased


def keep_record(contributors_store: Storage, erased: Erased, now: str) -> str:
    """Keep what an erasure removed, in counts only, beside the contributor records."""
    key = f"erasures/{re.sub(r'[^0-9TZ]', '', now)}-{uuid.uuid4().hex[:8]}.json"
    contributors_store.put_json(key, {"erased": now, **asdict(erased)})
    return key


# --- the command line ---------------------------------------------------------------------------


def stores_from(args: argparse.Namespace) -> tuple[Storage, Storage]:
    if args.bucket:
        return S3Storage(args.bucket), S3Storage(args.contributors_bucket)
    data = Path(args.data or "data")
    return LocalStorage(data / "drawings"), LocalStorage(data / "contributors")


def run_forget(args: argparse.Namespace) -> int:
    if args.bucket and not args.contributors_bucket:
        print("error: --bucket needs --contributors-bucket: the record goes too", file=sys.stderr)
        return 2
    drawings_store, contributors_store = stores_from(args)
    contributors = read_contributors(contributors_store)
    found: list[tuple[DrawingRef, str]] | None = None
    try:
        if args.code:
            found = list(drawing_sessions(drawings_store))
            known = {c.session for c in contributors} | {session for _, session in found}
            sessions = sessions_with_code(args.code, known)
        else:
            sessions = sessions_matching(
                contributors, session=args.session, email=args.email, name=args.name
            )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not sessions:
        print("nothing matches: no record was removed", file=sys.stderr)
        return 1
    if len(sessions) > 1 and not args.all_matching:
        print(
            f"error: {len(sessions)} sessions match; ask for the deletion code, or give "
            "--all-matching to erase them all",
            file=sys.stderr,
        )
        return 2
    was_listed = any(c.session in sessions and c.status == APPROVED for c in contributors)
    erased = forget(
        drawings_store, contributors_store, sessions, drawings=args.drawings, found=found
    )
    summary = json.dumps(asdict(erased))
    log.info("erased %s", summary)
    print(summary)
    if was_listed:
        remaining = [c for c in contributors if c.session not in sessions]
        for where in publish_page(args, remaining):
            print(f"published the contributors page to {where}", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "forget",
        help="erase a person's contributor record and, with --drawings, their drawings",
        description=__doc__.split("\n\n")[0],
    )
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--session", help="the session id")
    who.add_argument("--email", help="the e-mail address they left")
    who.add_argument("--name", help="the name they left")
    who.add_argument("--code", help="the deletion code the site showed them")
    parser.add_argument(
        "--drawings", action="store_true", help="also erase their drawings and their counts"
    )
    parser.add_argument(
        "--all-matching", action="store_true", help="erase every session an e-mail or name matches"
    )
    stores = parser.add_mutually_exclusive_group()
    stores.add_argument("--data", type=Path, default=None, help="local store (default ./data)")
    stores.add_argument("--bucket", default=None, help="the drawings bucket")
    parser.add_argument("--contributors-bucket", default=None, help="the contributors bucket")
    add_page_arguments(parser)
    parser.set_defaults(run=run_forget)
