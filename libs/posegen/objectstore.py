"""The S3 backend of :class:`posegen.storage.Storage` (boto3): AWS S3 and the S3-compatible stores (GCS's
interoperability endpoint, Cloudflare R2, MinIO, SeaweedFS). Credentials come from the settings'
``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` when set (so ``.env`` works), else boto3's usual chain
(environment, shared files, web identity, instance or pod roles)."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError

from posegen.storage import Storage, StorageMisconfigured, StorageUnavailable, check_key, media_type

if TYPE_CHECKING:
    from posegen.settings import CommonSettings

_MISSING = {"404", "NoSuchKey", "NotFound"}
_EXISTS = {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}
_NO_BUCKET = {"NoSuchBucket"}
_REFUSED = {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"}
MAX_PRESIGN_SECONDS = 7 * 24 * 3600
"""SigV4's limit on a presigned URL's life."""


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


class S3Storage(Storage):
    backend = "s3"

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None = None,
        public_endpoint_url: str | None = None,
        region: str = "us-east-1",
        addressing_style: str = "auto",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> None:
        self.bucket = bucket
        self.endpoint_url = endpoint_url or None
        self.region = region
        session = boto3.session.Session(
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            region_name=region,
        )
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": addressing_style},
            connect_timeout=2.0,
            read_timeout=10.0,
            # One quick retry inside boto3; longer outages are the caller's (posegen.retry) to ride out.
            retries={"max_attempts": 2, "mode": "standard"},
            # Checksums only where the API requires them: several S3-compatible stores reject the trailing
            # CRC checksums boto3 sends by default since 1.36 (integrity is checked with Content-MD5 instead).
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self._client = session.client("s3", endpoint_url=self.endpoint_url, config=config)
        public = public_endpoint_url or None
        self._presigner = (
            session.client("s3", endpoint_url=public, config=config)
            if public and public != self.endpoint_url
            else self._client
        )

    @classmethod
    def from_settings(cls, settings: CommonSettings) -> S3Storage:
        return cls(
            bucket=settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            public_endpoint_url=settings.s3_public_endpoint_url,
            region=settings.s3_region,
            addressing_style=settings.s3_addressing_style,
            access_key_id=settings.aws_access_key_id,
            secret_access_key=settings.aws_secret_access_key.get_secret_value()
            if settings.aws_secret_access_key
            else None,
        )

    def describe(self) -> str:
        return f"s3 bucket {self.bucket} at {self.endpoint_url or 'AWS S3'}"

    def _no_bucket(self) -> StorageMisconfigured:
        return StorageMisconfigured(
            f"S3 bucket {self.bucket!r} does not exist at {self.endpoint_url or 'AWS S3'} "
            "(S3_BUCKET): create it, for example with `posegen storage init`"
        )

    def _fault(self, error: Exception, *, what: str) -> Exception:
        """The storage error an S3 or transport error stands for."""
        if isinstance(error, NoCredentialsError | PartialCredentialsError):
            return StorageMisconfigured(
                "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give the process a role"
            )
        if isinstance(error, ClientError):
            code = _code(error)
            if code in _NO_BUCKET:
                return self._no_bucket()
            if code in _REFUSED:
                return StorageMisconfigured(
                    f"S3 refused {what} in bucket {self.bucket!r} ({code}): check AWS_ACCESS_KEY_ID, "
                    "AWS_SECRET_ACCESS_KEY and the bucket's policy"
                )
            return StorageUnavailable(f"S3 {what} failed: {code or _status(error)}: {error}")
        return StorageUnavailable(f"S3 {what} failed: {error}")

    @contextmanager
    def _calling(self, what: str, *, missing: Exception | None = None, codes: set[str] = _MISSING) -> Iterator[None]:
        """Raise the storage error an S3 or transport error stands for; ``missing`` for an error with one of
        ``codes`` (a missing key's, unless told)."""
        try:
            yield
        except ClientError as error:
            if missing is not None and _code(error) in codes:
                raise missing from None
            raise self._fault(error, what=what) from error
        except BotoCoreError as error:
            raise self._fault(error, what=what) from error

    def write(self, key: str, data: bytes) -> None:
        digest = hashlib.md5(data, usedforsecurity=False).digest()
        with self._calling(f"writing {key}"):
            answer = self._client.put_object(
                Bucket=self.bucket,
                Key=check_key(key),
                Body=data,
                ContentType=media_type(key),
                ContentMD5=base64.b64encode(digest).decode(),
            )
        etag = str(answer.get("ETag", "")).strip('"')
        if etag and "-" not in etag and etag != digest.hex():
            raise StorageUnavailable(f"S3 stored {key} with ETag {etag}, not the MD5 of what was sent")

    def read(self, key: str) -> bytes:
        with self._calling(f"reading {key}", missing=FileNotFoundError(key)):
            return self._client.get_object(Bucket=self.bucket, Key=check_key(key))["Body"].read()

    def exists(self, key: str) -> bool:
        try:
            with self._calling(f"looking up {key}", missing=FileNotFoundError(key)):
                self._client.head_object(Bucket=self.bucket, Key=check_key(key))
        except FileNotFoundError:
            return False
        return True

    def keys(self, prefix: str = "") -> list[str]:
        found: list[str] = []
        with self._calling(f"listing {prefix or 'the bucket'}"):
            pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
            for page in pages:
                found.extend(item["Key"] for item in page.get("Contents", []))
        return sorted(found)

    def delete(self, key: str) -> None:
        with self._calling(f"deleting {key}"):
            self._client.delete_object(Bucket=self.bucket, Key=check_key(key))

    def delete_prefix(self, prefix: str) -> None:
        folder = check_key(prefix).rstrip("/") + "/"
        with self._calling(f"deleting {prefix}"):
            for key in self.keys(folder):
                self._client.delete_object(Bucket=self.bucket, Key=key)

    def check(self) -> None:
        with self._calling("access", missing=self._no_bucket()):
            self._client.head_bucket(Bucket=self.bucket)

    def create_bucket(self) -> bool:
        """Create the bucket; False when it was already there (ours)."""
        options = {}
        if self.region and self.region != "us-east-1":
            options["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            with self._calling("creating the bucket", missing=FileExistsError(self.bucket), codes=_EXISTS):
                self._client.create_bucket(Bucket=self.bucket, **options)
        except FileExistsError:
            self.check()
            return False
        return True

    def download_url(self, key: str, expires_at: int) -> str:
        seconds = min(MAX_PRESIGN_SECONDS, max(1, int(expires_at - time.time())))
        return self._presigner.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": check_key(key)}, ExpiresIn=seconds
        )
