"""``posegen storage``: create the bucket (``init``), check the backend (``check``), and copy ``STORAGE_DIR``
into the bucket with every object read back and compared (``migrate``). Keys are the same on both backends,
so the database needs no change."""

from __future__ import annotations

import logging
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from posegen.retry import retrying
from posegen.storage import LocalStorage, Storage, StorageMisconfigured, StorageUnavailable

log = logging.getLogger("posegen.cli")


def _s3(storage: Storage):
    from posegen.objectstore import S3Storage

    if not isinstance(storage, S3Storage):
        raise StorageMisconfigured("STORAGE_BACKEND is not s3: set STORAGE_BACKEND=s3 and S3_BUCKET first")
    return storage


@dataclass
class MigrationReport:
    copied: int = 0
    bytes: int = 0
    mismatched: list[str] = field(default_factory=list)


def migrate(source: LocalStorage, target: Storage) -> MigrationReport:
    """Copy every file of ``source`` to ``target`` under the same key, then read each one back from
    ``target`` and compare it with the file. Running it again copies everything again (writes are
    idempotent); the files stay where they were."""
    _s3(target)
    keys = source.keys()
    report = MigrationReport()

    def copy(key: str) -> tuple[str, int, bool]:
        data = source.read(key)
        target.write(key, data)
        return key, len(data), target.read(key) == data

    with ThreadPoolExecutor(max_workers=8) as pool:
        for key, size, same in pool.map(copy, keys):
            report.copied += 1
            report.bytes += size
            if not same:
                report.mismatched.append(key)
            if report.copied % 500 == 0:
                print(f"{report.copied}/{len(keys)} objects copied")
    return report


def run(action: str, storage: Storage, *, source_dir: str | None = None) -> int:
    """The command's body: prints its outcome, returns the exit status."""
    try:
        if action == "init":
            bucket = _s3(storage)
            # A deployment's one-shot step: the object store may still be starting (or restarting) beside it.
            for attempt in retrying(on=(StorageUnavailable,), deadline=60, first=0.5, cap=5.0, log=log):
                with attempt:
                    created = bucket.create_bucket()
                    bucket.check()
            print(f"{'created' if created else 'found'} bucket {bucket.bucket} at {bucket.endpoint_url or 'AWS S3'}")
        elif action == "check":
            storage.check()
            print(f"storage OK: {storage.describe()}")
        elif action == "migrate":
            source = LocalStorage(source_dir or ".")
            if not Path(source.root).is_dir():
                raise StorageMisconfigured(f"STORAGE_DIR {source.root} does not exist: nothing to migrate")
            storage.check()
            report = migrate(source, storage)
            print(
                f"copied {report.copied} objects ({report.bytes} bytes) from {source.root} to "
                f"{storage.describe()}; {report.copied - len(report.mismatched)} read back identical"
            )
            if report.mismatched:
                print(f"error: {len(report.mismatched)} objects differ: {report.mismatched[:10]}", file=sys.stderr)
                return 1
    except (StorageMisconfigured, StorageUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
