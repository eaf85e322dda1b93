"""``comnist contributors``: names wait for the maintainer's approval; the mailing list.

A participant's name reaches the public contributors page only once the maintainer has approved
it. The decision is kept in the contributors bucket, ``approvals/<session>.json``, with the
SHA-256 of the name it was made on: a session that sends another name later is pending again,
and one that withdraws its consent leaves the page at its next publication. No Lambda may read
this bucket; only the maintainer's own credentials do (see :mod:`comnist.grants`).

Every decision publishes the contributors page again, alone: rendered from the approved names
and uploaded to the site (a local built site or the site bucket). See :mod:`build_site`.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import os
import sys
import unicodedata
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.intake import utc_now
from chalicelib.keys import APPROVALS_PREFIX, CONTRIBUTORS_PREFIX, approval_key
from chalicelib.storage import LocalStorage, NotFound, S3Storage, Storage

APPROVED = "approved"
REJECTED = "rejected"
PENDING = "pending"
UNNAMED = "unnamed"
SHORT_ID = 8
READ_WORKERS = 16


def name_digest(name: str) -> str:
    """SHA-256 of a name: what an approval was given on, without keeping the name twice."""
    return hashlib.sha256(unicodedata.normalize("NFC", name).encode()).hexdigest()


@dataclass(frozen=True)
class Contributor:
    """One session's contributor record, with the maintainer's decision on its current name."""

    session: str
    name: str | None
    email: str | None
    thanks_page: bool
    updates: bool
    updated: str | None
    decision: str | None = None
    decided: str | None = None

    @property
    def status(self) -> str:
        """``approved``, ``rejected`` or ``pending`` for a name shown with consent, else ``unnamed``."""
        if not self.name or not self.thanks_page:
            return UNNAMED
        return self.decision or PENDING

    @property
    def short_id(self) -> str:
        """The first hex digits of the session: enough to name one contributor on the command line."""
        return self.session[:SHORT_ID]


def contributor_from(record: dict[str, Any], approval: dict[str, Any] | None) -> Contributor:
    """A :class:`Contributor` from its stored record and its approval object (if any)."""
    name = record.get("name") if isinstance(record.get("name"), str) else None
    email = record.get("email") if isinstance(record.get("email"), str) else None
    consent = record.get("consent") if isinstance(record.get("consent"), dict) else {}
    decision = decided = None
    # A decision holds only for the name it was made on.
    if approval and name and approval.get("name_sha256") == name_digest(name):
        decision, decided = approval.get("decision"), approval.get("decided")
    return Contributor(
        session=str(record.get("session")),
        name=name.strip() if name else None,
        email=email.strip() if email else None,
        thanks_page=consent.get("thanks_page") is True,
        updates=consent.get("updates") is True,
        updated=record.get("updated"),
        decision=decision if decision in (APPROVED, REJECTED) else None,
        decided=decided,
    )


def _session_of(key: str, prefix: str) -> str | None:
    stem = key[len(prefix) :].removesuffix(".json")
    try:
        return str(uuid.UUID(stem)) if key.endswith(".json") else None
    except ValueError:
        return None


def read_contributors(store: Storage, workers: int = READ_WORKERS) -> list[Contributor]:
    """Every contributor record with its decision, in session order (one listing per prefix)."""
    approved = {
        s for key in store.list_keys(APPROVALS_PREFIX) if (s := _session_of(key, APPROVALS_PREFIX))
    }
    sessions = [
        s
        for key in store.list_keys(CONTRIBUTORS_PREFIX)
        if (s := _session_of(key, CONTRIBUTORS_PREFIX))
    ]

    def read(session: str) -> Contributor | None:
        try:
            record = store.get_json(f"{CONTRIBUTORS_PREFIX}{session}.json")
            approval = store.get_json(approval_key(session)) if session in approved else None
        except (NotFound, ValueError):
            return None  # erased or half-written meanwhile: the next run sees it
        if not isinstance(record, dict):
            return None
        return contributor_from({**record, "session": session}, approval)

    with ThreadPoolExecutor(workers) as pool:
        return [c for c in pool.map(read, sessions) if c is not None]


def find(contributors: Iterable[Contributor], ident: str) -> Contributor:
    """The one contributor whose session is ``ident`` or starts with it; ``ValueError`` otherwise."""
    ident = ident.strip().lower()
    if len(ident) < 4:
        raise ValueError(f"{ident!r}: give a session or at least 4 of its first characters")
    matches = [c for c in contributors if c.session.startswith(ident)]
    if not matches:
        raise ValueError(f"{ident}: no contributor record has this session")
    if len(matches) > 1:
        raise ValueError(f"{ident}: {len(matches)} sessions start with it; give more characters")
    return matches[0]


def decide(
    store: Storage, contributor: Contributor, decision: str, now: str | None = None
) -> Contributor:
    """Record ``decision`` (approved or rejected) on the contributor's current name."""
    if decision not in (APPROVED, REJECTED):
        raise ValueError(f"a decision is {APPROVED} or {REJECTED}, not {decision!r}")
    if contributor.status == UNNAMED or contributor.name is None:
        raise ValueError(f"{contributor.short_id}: no name to show, nothing to decide")
    now = now or utc_now()
    store.put_json(
        approval_key(contributor.session),
        {"decision": decision, "name_sha256": name_digest(contributor.name), "decided": now},
    )
    return contributor_from(
        {
            "session": contributor.session,
            "name": contributor.name,
            "email": contributor.email,
            "consent": {"thanks_page": contributor.thanks_page, "updates": contributor.updates},
            "updated": contributor.updated,
        },
        {"decision": decision, "name_sha256": name_digest(contributor.name), "decided": now},
    )


def approved_names(contributors: Iterable[Contributor]) -> list[str]:
    """The names the page shows: approved, with consent, first approved first, each name once."""
    approved = sorted(
        (c for c in contributors if c.status == APPROVED),
        key=lambda c: (c.decided or "", c.session),
    )
    return list(dict.fromkeys(c.name for c in approved if c.name))


def mailing_list(contributors: Iterable[Contributor]) -> list[str]:
    """The addresses whose owners asked for news of the dataset, each once (as last sent), sorted."""
    addresses: dict[str, str] = {}
    for c in sorted(contributors, key=lambda c: (c.updated or "", c.session)):
        if c.email and c.updates:
            addresses[c.email.casefold()] = c.email
    return sorted(addresses.values(), key=str.casefold)


def mailing_csv(addresses: Iterable[str]) -> str:
    """A CSV with one ``email`` column, as mailing tools import it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["email"])
    writer.writerows([address] for address in addresses)
    return out.getvalue()


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to a file only its owner may read: it holds personal data."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


# --- the command line ---------------------------------------------------------------------------


def add_contributors_arguments(parser: argparse.ArgumentParser, default: Any = None) -> None:
    """``--data`` or ``--contributors-bucket``, and where the contributors page is published.

    Given before or after ``approve``/``reject``: the subcommand's copies default to
    ``argparse.SUPPRESS``, so that they never overwrite what was given before it.
    """
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--data", type=Path, default=default, help="local store directory (default ./data)"
    )
    group.add_argument("--contributors-bucket", default=default, help="the contributors bucket")
    add_page_arguments(parser, default, " (default build/site with --data)")


def add_page_arguments(
    parser: argparse.ArgumentParser, default: Any = None, note: str = ""
) -> None:
    """``--site`` and ``--site-bucket``: where a command that changes names publishes the page."""
    parser.add_argument(
        "--site",
        type=Path,
        default=default,
        help=f"a local built site whose contributors page to publish{note}",
    )
    parser.add_argument(
        "--site-bucket", default=default, help="the site bucket whose contributors page to publish"
    )


def contributors_store(args: argparse.Namespace) -> Storage:
    if args.contributors_bucket:
        return S3Storage(args.contributors_bucket)
    return LocalStorage(Path(args.data or "data") / "contributors")


def publish_page(args: argparse.Namespace, contributors: list[Contributor]) -> list[str]:
    """Publish the contributors page from the approved names where the arguments say; say where."""
    import build_site

    names = approved_names(contributors)
    published = []
    site = args.site
    if site is None and not args.contributors_bucket and not args.site_bucket:
        site = build_site.DEFAULT_OUT
    if site is not None and (Path(site) / build_site.SETTINGS_FILE).is_file():
        build_site.publish_contributors_locally(Path(site), names)
        published.append(str(site))
    elif args.site is not None:
        raise SystemExit(f"{site} is not a built site (no {build_site.SETTINGS_FILE})")
    if args.site_bucket:
        build_site.publish_contributors_to_bucket(args.site_bucket, names)
        published.append(f"s3://{args.site_bucket}")
    return published


def format_row(c: Contributor) -> str:
    return "\t".join([c.short_id, c.status, c.name or "-", c.updated or "-"])


def run_contributors(args: argparse.Namespace) -> int:
    store = contributors_store(args)
    contributors = read_contributors(store)
    if args.emails:
        text = mailing_csv(mailing_list(contributors))
        if args.out:
            write_private(args.out, text)
            print(f"wrote {text.count(chr(10)) - 1} addresses to {args.out}", file=sys.stderr)
        else:
            sys.stdout.write(text)
        return 0
    wanted = None if args.status == "all" else args.status
    rows = [c for c in contributors if c.status != UNNAMED and wanted in (None, c.status)]
    rows.sort(key=lambda c: (c.updated or "", c.session))
    for c in rows:
        sys.stdout.write(format_row(c) + "\n")
    if args.publish:
        for where in publish_page(args, contributors):
            print(f"published the contributors page to {where}", file=sys.stderr)
    return 0


def run_decision(args: argparse.Namespace) -> int:
    store = contributors_store(args)
    contributors = read_contributors(store)
    try:
        chosen = [find(contributors, ident) for ident in args.ids]
        decided = {c.session: decide(store, c, args.decision) for c in chosen}
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for c in decided.values():
        print(f"{c.short_id}\t{c.status}\t{c.name}")
    updated = [decided.get(c.session, c) for c in contributors]
    for where in publish_page(args, updated):
        print(f"published the contributors page to {where}", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "contributors",
        help="names waiting for approval; approve or reject them; the mailing list",
        description="Without a subcommand: list the names and their status "
        "(short id, status, name, last update), pending ones by default.",
    )
    add_contributors_arguments(parser)
    parser.add_argument(
        "--status",
        choices=[PENDING, APPROVED, REJECTED, "all"],
        default=PENDING,
        help="which names to list (default pending)",
    )
    parser.add_argument(
        "--emails",
        action="store_true",
        help="write the addresses of those who asked for updates, as CSV (column email)",
    )
    parser.add_argument("--out", type=Path, help="with --emails: a file, readable by you only")
    parser.add_argument(
        "--publish",
        action="store_true",
        help="publish the contributors page again (after consents changed)",
    )
    parser.set_defaults(run=run_contributors)
    decisions = parser.add_subparsers(dest="decision_command", metavar="{approve,reject}")
    for name, decision in (("approve", APPROVED), ("reject", REJECTED)):
        sub = decisions.add_parser(
            name,
            help=f"{name} names (by session or its first characters), then publish the page",
        )
        sub.add_argument("ids", nargs="+", metavar="ID", help="a session or its short id")
        add_contributors_arguments(sub, default=argparse.SUPPRESS)
        sub.set_defaults(run=run_decision, decision=decision)
