"""One object-storage interface with two backends: an S3 bucket and a local directory.

Both backends behave alike where the collector relies on it: conditional writes (``If-None-Match``
and ``If-Match``), object metadata, object tags with S3's limits, and prefix listing. The local
directory mirrors the bucket layout: the object ``drawings/latin/U+0041/<id>.png`` is the file of
that path, its metadata lives in ``.meta/<key>.json`` and its tags in ``.tags/<key>.json``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_TAGS = 10
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
_TAG_CHARS = re.compile(r"^[\w\s+\-=.:/@]*$")
_KEY_SEGMENT = re.compile(r"^[A-Za-z0-9_.+=@-]+$")


class StorageError(Exception):
    """Base class of storage failures."""


class NotFound(StorageError):
    """The object does not exist."""


class PreconditionFailed(StorageError):
    """A conditional write found the object in another state than required."""


class StorageUnavailable(StorageError):
    """The backend failed or could not be reached; the caller may retry later."""


@dataclass(frozen=True)
class ObjectInfo:
    """What a HEAD request tells about an object."""

    key: str
    size: int
    etag: str
    content_type: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ListedObject:
    """A key as a listing gives it, with when it was last written (seconds since the epoch) and,
    where the listing tells it for free (S3), its ETag."""

    key: str
    modified: float
    etag: str | None = None


@dataclass(frozen=True)
class StoredObject:
    """An object's bytes with its :class:`ObjectInfo`."""

    info: ObjectInfo
    data: bytes


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe relative object key, else raise ``ValueError``.

    Keys are built by the collector from validated values; this is the last line of defence
    against a key that could escape its prefix or the local data directory.
    """
    if not key or len(key) > 512 or key.startswith("/") or key.endswith("/"):
        raise ValueError(f"invalid object key {key!r}")
    for segment in key.split("/"):
        if segment in (".", "..") or not _KEY_SEGMENT.match(segment) or segment.startswith("."):
            raise ValueError(f"invalid object key {key!r}")
    return key


def check_tags(tags: dict[str, str]) -> dict[str, str]:
    """Return ``tags`` if they respect S3's tagging limits, else raise ``ValueError``."""
    if len(tags) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags per object, got {len(tags)}")
    for name, value in tags.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise ValueError("tag names and values must be strings")
        if not 0 < len(name) <= MAX_TAG_KEY or len(value) > MAX_TAG_VALUE:
            raise ValueError(f"tag {name!r} is too long")
        if not _TAG_CHARS.match(name) or not _TAG_CHARS.match(value):
            raise ValueError(f"tag {name!r} has characters S3 does not allow")
    return dict(tags)


def etag_of(data: bytes) -> str:
    """Return the ETag S3 gives a single-part upload of ``data`` (its MD5, quoted)."""
    return '"' + hashlib.md5(data, usedforsecurity=False).hexdigest() + '"'


class Storage(ABC):
    """A bucket-like key/value store of immutable-ish objects with metadata and tags."""

    name: str

    @abstractmethod
    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
        if_none_match: bool = False,
        if_match: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> str:
        """Store ``data`` under ``key`` and return its ETag.

        ``if_none_match`` writes only if no object exists; ``if_match`` only if the current
        ETag equals it. Either failing raises :class:`PreconditionFailed`. ``tags`` arrive with
        the object, so that whatever its creation triggers already sees them.
        """

    @abstractmethod
    def get(self, key: str) -> StoredObject:
        """Return the object, or raise :class:`NotFound`."""

    @abstractmethod
    def head(self, key: str) -> ObjectInfo | None:
        """Return the object's info, or ``None`` if it does not exist."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Delete the object; deleting a missing object is not an error."""

    @abstractmethod
    def list_keys(self, prefix: str = "", start_after: str = "") -> Iterator[str]:
        """Yield the keys that start with ``prefix`` in lexicographic order.

        With ``start_after``, only the keys that sort after it: a listing can begin anywhere
        without walking what comes before, as S3's ``StartAfter`` does.
        """

    def list_objects(self, prefix: str = "") -> Iterator[ListedObject]:
        """Yield the objects under ``prefix`` in :meth:`list_keys` order, with their write times."""
        raise NotImplementedError(f"{type(self).__name__} does not list write times")

    @abstractmethod
    def get_tags(self, key: str) -> dict[str, str]:
        """Return the object's tags, or raise :class:`NotFound`."""

    @abstractmethod
    def put_tags(self, key: str, tags: dict[str, str]) -> None:
        """Replace the object's tags, or raise :class:`NotFound`."""

    def erase(self, key: str) -> int:
        """Delete the object and every version of it the store keeps; return how many went.

        An erasure request must leave no way back, whereas :meth:`delete` on a versioned bucket
        only hides the object behind a delete marker. A store without versions just deletes.
        """
        existed = self.exists(key)
        self.delete(key)
        return int(existed)

    def erase_prefix(self, prefix: str) -> int:
        """Erase every object under ``prefix`` (see :meth:`erase`); return how many versions went."""
        return sum(self.erase(key) for key in list(self.list_keys(prefix)))

    def exists(self, key: str) -> bool:
        """Return whether an object exists under ``key``."""
        return self.head(key) is not None

    def get_json(self, key: str) -> Any:
        """Return the object under ``key`` parsed as JSON."""
        return json.loads(self.get(key).data)

    def put_json(self, key: str, value: Any, **kwargs: Any) -> str:
        """Store ``value`` as compact UTF-8 JSON under ``key``; keyword arguments as :meth:`put`."""
        data = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        return self.put(key, data.encode(), content_type="application/json", **kwargs)


class LocalStorage(Storage):
    """A directory that behaves like a bucket; safe for threads and for processes on one host.

    Writes hold a lock that spans threads (a mutex) and processes (``flock`` on ``.lock``), so
    that a conditional write checks and writes as one step, as S3 does. Reads take no lock: each
    file is replaced atomically, an object's data is written before its ``.meta`` file (which
    makes it exist), and the ETag a read reports is computed from the bytes that read returned,
    so a conditional write can never pass on data older than the ETag it was given.

    A write first stages every file of the object (data, tags, metadata) beside its target, then
    renames them into place; renames need no space. A full disk, a read-only or unwritable folder
    fails while staging, before anything changed, and is raised as :class:`StorageUnavailable`.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.name = str(self.root)
        self._thread_lock = threading.Lock()

    def _path(self, key: str, area: str = "") -> Path:
        check_key(key)
        base = self.root / area if area else self.root
        path = (base / key).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"invalid object key {key!r}")
        return path.with_name(path.name + ".json") if area else path

    @staticmethod
    @contextlib.contextmanager
    def _os_errors(key: str) -> Iterator[None]:
        """The file system's failures (full, read-only, no permission...) as :class:`StorageUnavailable`."""
        try:
            yield
        except OSError as exc:
            reason = errno.errorcode.get(exc.errno or 0, "") or type(exc).__name__
            raise StorageUnavailable(f"local storage {reason} on {key}: {exc.strerror}") from exc

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        lock_path = self.root / ".lock"
        with self._thread_lock, open(lock_path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @staticmethod
    def _stage(path: Path, data: bytes) -> Path:
        """Write ``data`` to a temporary file beside ``path``; return the temporary file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return Path(tmp)

    @staticmethod
    def _commit(staged: Path, path: Path) -> None:
        """Put a staged file in place, atomically."""
        os.replace(staged, path)

    @classmethod
    def _write_atomic(cls, path: Path, data: bytes) -> None:
        cls._commit(cls._stage(path, data), path)

    def _read_meta(self, key: str) -> dict[str, Any] | None:
        try:
            return json.loads(self._path(key, ".meta").read_bytes())
        except FileNotFoundError:
            return None

    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
        if_none_match: bool = False,
        if_match: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> str:
        path = self._path(key)
        tags = check_tags(tags or {})
        meta = {"content_type": content_type, "metadata": dict(metadata or {})}
        tags_path, meta_path = self._path(key, ".tags"), self._path(key, ".meta")
        with self._os_errors(key), self._locked():
            current = self._current_etag(key)
            if if_none_match and current is not None:
                raise PreconditionFailed(f"{key} already exists")
            if if_match is not None and current != if_match:
                raise PreconditionFailed(f"{key} changed since it was read")
            files = [(path, data)]
            if tags:
                files.append(
                    (tags_path, json.dumps(tags, ensure_ascii=False, sort_keys=True).encode())
                )
            files.append((meta_path, json.dumps(meta).encode()))
            staged: list[tuple[Path, Path]] = []
            try:
                for target, content in files:
                    staged.append((self._stage(target, content), target))
                # Data and tags first, metadata last: an object exists once its metadata does.
                for temporary, target in staged:
                    if target == meta_path and not tags:
                        # A new object starts with the tags of its PUT only, as on S3.
                        with contextlib.suppress(FileNotFoundError):
                            tags_path.unlink()
                    self._commit(temporary, target)
            finally:
                for temporary, _ in staged:
                    with contextlib.suppress(FileNotFoundError):
                        temporary.unlink()
        return etag_of(data)

    def _current_etag(self, key: str) -> str | None:
        """The ETag of the object's current bytes, or ``None`` if it does not exist."""
        if self._read_meta(key) is None:
            return None
        try:
            return etag_of(self._path(key).read_bytes())
        except FileNotFoundError:
            return None

    def get(self, key: str) -> StoredObject:
        with self._os_errors(key):
            meta = self._read_meta(key)
            if meta is None:
                raise NotFound(key)
            try:
                data = self._path(key).read_bytes()
            except FileNotFoundError as exc:
                raise NotFound(key) from exc
        info = ObjectInfo(key, len(data), etag_of(data), meta["content_type"], meta["metadata"])
        return StoredObject(info, data)

    def head(self, key: str) -> ObjectInfo | None:
        try:
            return self.get(key).info
        except NotFound:
            return None

    def delete(self, key: str) -> None:
        with self._os_errors(key), self._locked():
            for path in (self._path(key, ".meta"), self._path(key), self._path(key, ".tags")):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()

    def list_keys(self, prefix: str = "", start_after: str = "") -> Iterator[str]:
        directory, _, _ = prefix.rpartition("/")
        start = self.root / directory if directory else self.root
        with self._os_errors(prefix or "/"):
            if start.is_dir():
                base = f"{directory}/" if directory else ""
                after = start_after.encode()
                yield from (
                    key
                    for key in self._walk(start, base, after)
                    if key.startswith(prefix) and key.encode() > after
                )

    def list_objects(self, prefix: str = "") -> Iterator[ListedObject]:
        for key in self.list_keys(prefix):
            try:
                modified = self._path(key, ".meta").stat().st_mtime
            except FileNotFoundError:
                continue  # not an object (yet): its metadata makes it one
            yield ListedObject(key, modified)

    def _walk(self, directory: Path, base: str, after: bytes = b"") -> Iterator[str]:
        """Yield the keys under ``directory`` in S3's order: byte-wise lexicographic by full key.

        Folders whose keys all sort before ``after`` are skipped unread, so a listing that starts
        late in a deep tree does not walk what comes before.
        """
        entries = []
        for entry in os.scandir(directory):
            if entry.name.startswith("."):
                continue
            is_dir = entry.is_dir(follow_symlinks=False)
            entries.append((entry.name + "/" if is_dir else entry.name, entry, is_dir))
        for name, entry, is_dir in sorted(entries, key=lambda item: item[0].encode()):
            if is_dir:
                folder = (base + name).encode()
                if folder < after and not after.startswith(folder):
                    continue
                yield from self._walk(Path(entry.path), base + name, after)
            else:
                yield base + name

    def get_tags(self, key: str) -> dict[str, str]:
        with self._os_errors(key):
            if self._read_meta(key) is None:
                raise NotFound(key)
            try:
                return json.loads(self._path(key, ".tags").read_bytes())
            except FileNotFoundError:
                return {}

    def put_tags(self, key: str, tags: dict[str, str]) -> None:
        check_tags(tags)
        with self._os_errors(key), self._locked():
            if self._read_meta(key) is None:
                raise NotFound(key)
            data = json.dumps(tags, ensure_ascii=False, sort_keys=True).encode()
            self._write_atomic(self._path(key, ".tags"), data)

    def remove_partial_writes(self, older_than: float) -> int:
        """Remove what interrupted writes left (staged files, data without metadata); return how many.

        Only files last changed before ``older_than`` (seconds since the epoch) go, so that no
        write in progress loses its files.
        """
        removed = 0
        with self._os_errors("/"):
            for directory, folders, files in os.walk(self.root):
                if Path(directory) == self.root:  # the metadata and tag areas have their own pass
                    folders[:] = [f for f in folders if not f.startswith(".")]
                for name in files:
                    path = Path(directory) / name
                    if self._is_partial(path) and path.stat().st_mtime < older_than:
                        path.unlink(missing_ok=True)
                        removed += 1
            for area in (".meta", ".tags"):
                base = self.root / area
                for directory, _, files in os.walk(base):
                    for name in files:
                        path = Path(directory) / name
                        if name.startswith(".tmp-") and path.stat().st_mtime < older_than:
                            path.unlink(missing_ok=True)
                            removed += 1
        return removed

    def _is_partial(self, path: Path) -> bool:
        """A staged file, or an object's data whose metadata was never written."""
        if path.name.startswith(".tmp-"):
            return True
        if path.name.startswith("."):
            return False
        key = path.relative_to(self.root).as_posix()
        try:
            return not self._path(key, ".meta").exists()
        except ValueError:
            return False


class S3Storage(Storage):
    """An S3 bucket through boto3; errors are mapped onto this module's exceptions."""

    def __init__(self, bucket: str, client: Any = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("s3")
        self.client = client
        self.name = bucket
        self.bucket = bucket

    @contextlib.contextmanager
    def _errors(self, key: str) -> Iterator[None]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("NoSuchKey", "404", "NotFound") or status == 404:
                raise NotFound(key) from exc
            if code in ("PreconditionFailed", "ConditionalRequestConflict") or status in (409, 412):
                raise PreconditionFailed(key) from exc
            raise StorageUnavailable(f"S3 {code or status} on {key}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"S3 unreachable on {key}: {exc}") from exc

    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
        if_none_match: bool = False,
        if_match: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> str:
        check_key(key)
        args: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": key,
            "Body": data,
            "ContentType": content_type,
            "Metadata": dict(metadata or {}),
        }
        if if_none_match:
            args["IfNoneMatch"] = "*"
        if if_match is not None:
            args["IfMatch"] = if_match
        if tags:
            from urllib.parse import urlencode

            args["Tagging"] = urlencode(sorted(check_tags(tags).items()))
        with self._errors(key):
            response = self.client.put_object(**args)
        return response.get("ETag", etag_of(data))

    def get(self, key: str) -> StoredObject:
        check_key(key)
        with self._errors(key):
            response = self.client.get_object(Bucket=self.bucket, Key=key)
            data = response["Body"].read()
        info = ObjectInfo(
            key,
            len(data),
            response.get("ETag", etag_of(data)),
            response.get("ContentType", "application/octet-stream"),
            response.get("Metadata", {}),
        )
        return StoredObject(info, data)

    def head(self, key: str) -> ObjectInfo | None:
        check_key(key)
        try:
            with self._errors(key):
                response = self.client.head_object(Bucket=self.bucket, Key=key)
        except NotFound:
            return None
        return ObjectInfo(
            key,
            response["ContentLength"],
            response["ETag"],
            response.get("ContentType", "application/octet-stream"),
            response.get("Metadata", {}),
        )

    def delete(self, key: str) -> None:
        check_key(key)
        with self._errors(key):
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def erase(self, key: str) -> int:
        """Delete every version and delete marker of ``key`` by its version id (see :meth:`Storage.erase`)."""
        check_key(key)
        return self._erase_versions(key, lambda listed: listed == key)

    def erase_prefix(self, prefix: str) -> int:
        """Erase every version of every key under ``prefix``, those with no current version too."""
        check_key(prefix.rstrip("/"))
        return self._erase_versions(prefix, lambda listed: listed.startswith(prefix))

    def _erase_versions(self, prefix: str, wanted: Any) -> int:
        erased = 0
        paginator = self.client.get_paginator("list_object_versions")
        with self._errors(prefix):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                    if wanted(item["Key"]):  # the prefix of a key also matches longer keys
                        self.client.delete_object(
                            Bucket=self.bucket, Key=item["Key"], VersionId=item["VersionId"]
                        )
                        erased += 1
        return erased

    def list_keys(self, prefix: str = "", start_after: str = "") -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        where = {"StartAfter": start_after} if start_after else {}
        with self._errors(prefix or "/"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, **where):
                for item in page.get("Contents", []):
                    yield item["Key"]

    def list_objects(self, prefix: str = "") -> Iterator[ListedObject]:
        paginator = self.client.get_paginator("list_objects_v2")
        with self._errors(prefix or "/"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield ListedObject(
                        item["Key"], item["LastModified"].timestamp(), item.get("ETag")
                    )

    def get_tags(self, key: str) -> dict[str, str]:
        check_key(key)
        with self._errors(key):
            response = self.client.get_object_tagging(Bucket=self.bucket, Key=key)
        return {tag["Key"]: tag["Value"] for tag in response.get("TagSet", [])}

    def put_tags(self, key: str, tags: dict[str, str]) -> None:
        check_key(key)
        tag_set = [{"Key": k, "Value": v} for k, v in sorted(check_tags(tags).items())]
        with self._errors(key):
            self.client.put_object_tagging(Bucket=self.bucket, Key=key, Tagging={"TagSet": tag_set})
