"""Both storage backends pass the same tests: files under a folder, and a real S3 server (SeaweedFS, which
checks signatures) started by the tests themselves."""

from __future__ import annotations

import logging
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest

from posegen.objectstore import S3Storage
from posegen.settings import CommonSettings
from posegen.storage import (
    InvalidKey,
    LocalStorage,
    Storage,
    StorageMisconfigured,
    StorageRetry,
    StorageUnavailable,
    open_storage,
    storage_status,
    with_storage_retry,
)

from ..s3server import ACCESS_KEY, SECRET_KEY, SeaweedS3

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path) -> Storage:
    if request.param == "local":
        return LocalStorage(tmp_path / "storage")
    server = request.getfixturevalue("s3_server")
    return server.storage(request.getfixturevalue("s3_bucket"))


def http_get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_write_then_read_the_same_bytes(storage):
    storage.write("poses/g1/a.png", PNG)
    assert storage.read("poses/g1/a.png") == PNG
    storage.write("poses/g1/a.png", b"replaced")
    assert storage.read("poses/g1/a.png") == b"replaced"


def test_a_missing_key_is_file_not_found(storage):
    with pytest.raises(FileNotFoundError):
        storage.read("poses/nothing/here.png")
    assert storage.exists("poses/nothing/here.png") is False
    storage.write("poses/g2/b.png", PNG)
    assert storage.exists("poses/g2/b.png") is True


@pytest.mark.parametrize("key", ["../escape.png", "/absolute.png", "a/../b.png", "a//b.png", "a b.png", ""])
def test_odd_keys_are_refused(storage, key):
    with pytest.raises(InvalidKey):
        storage.write(key, PNG)
    with pytest.raises(InvalidKey):
        storage.read(key)


def test_keys_list_under_a_prefix_and_delete_prefix_removes_only_it(storage):
    for key in ("avatars/p1/a.png", "avatars/p1/b.png", "avatars/p10/c.png", "poses/g/x.png"):
        storage.write(key, PNG)
    assert storage.keys("avatars/p1/") == ["avatars/p1/a.png", "avatars/p1/b.png"]
    assert storage.keys() == ["avatars/p1/a.png", "avatars/p1/b.png", "avatars/p10/c.png", "poses/g/x.png"]
    storage.delete_prefix("avatars/p1")
    assert storage.keys() == ["avatars/p10/c.png", "poses/g/x.png"]
    storage.delete_prefix("avatars/none")


def test_delete_removes_one_key_and_a_missing_one_is_no_error(storage):
    storage.write("avatars/p/old.png", b"old")
    storage.write("avatars/p/new.png", b"new")
    storage.delete("avatars/p/old.png")
    storage.delete("avatars/p/old.png")
    assert storage.keys("avatars/p/") == ["avatars/p/new.png"]


def test_check_passes_and_readiness_reports_the_backend(storage):
    storage.check()
    assert storage_status(storage) == {"backend": storage.backend, "status": "connected"}


def test_download_urls(storage):
    storage.write("poses/g3/c.png", PNG)
    url = storage.download_url("poses/g3/c.png", int(time.time()) + 600)
    if storage.backend == "local":
        assert url is None  # the gateway serves the bytes itself
        return
    assert http_get(url) == (200, PNG)
    assert "X-Amz-Expires=" in url
    expires = int(url.split("X-Amz-Expires=")[1].split("&")[0])
    assert 590 <= expires <= 600, "the presigned GET expires when the signed URL does"
    tampered = url.replace("poses/g3/c.png", "poses/g3/d.png")
    assert http_get(tampered)[0] == 403
    signature = url.rsplit("X-Amz-Signature=", 1)[1]
    assert http_get(url.replace(signature, signature[::-1]))[0] == 403
    # Nothing is public: the key without a signature is refused.
    assert http_get(url.split("?", 1)[0])[0] == 403


def test_an_expired_presigned_url_is_refused(s3_server, s3_bucket):
    storage = s3_server.storage(s3_bucket)
    storage.write("poses/g4/e.png", PNG)
    url = storage.download_url("poses/g4/e.png", int(time.time()) + 1)
    time.sleep(2.5)
    assert http_get(url)[0] == 403


def test_a_missing_bucket_is_a_configuration_error_naming_it(s3_server):
    name = f"posegen-missing-{uuid.uuid4().hex[:8]}"
    with pytest.raises(StorageMisconfigured, match=name):
        s3_server.storage(name).check()
    assert storage_status(s3_server.storage(name)) == {"backend": "s3", "status": "disconnected"}


def test_wrong_credentials_are_a_configuration_error(s3_server, s3_bucket):
    wrong = S3Storage(
        bucket=s3_bucket,
        endpoint_url=s3_server.endpoint,
        addressing_style="path",
        access_key_id=ACCESS_KEY,
        secret_access_key="not-the-secret",
    )
    with pytest.raises(StorageMisconfigured, match="AWS_SECRET_ACCESS_KEY"):
        wrong.write("poses/x/y.png", PNG)
    unknown = S3Storage(
        bucket=s3_bucket,
        endpoint_url=s3_server.endpoint,
        addressing_style="path",
        access_key_id="nobody",
        secret_access_key=SECRET_KEY,
    )
    with pytest.raises(StorageMisconfigured):
        unknown.check()


def test_the_factory_builds_the_configured_backend(s3_server, s3_bucket, tmp_path):
    local = open_storage(CommonSettings(_env_file=None, storage_dir=str(tmp_path)))
    assert isinstance(local, LocalStorage) and local.root == tmp_path.resolve()
    s3 = open_storage(
        CommonSettings(
            _env_file=None,
            storage_backend="s3",
            s3_bucket=s3_bucket,
            s3_endpoint_url=s3_server.endpoint,
            s3_addressing_style="path",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )
    )
    assert isinstance(s3, S3Storage) and s3.bucket == s3_bucket
    s3.write("a/b.png", PNG)
    assert s3.read("a/b.png") == PNG


def test_writes_ride_out_an_outage(tmp_path):
    """A storage call retried with posegen.retry's policy succeeds once the server is back."""
    server = SeaweedS3(tmp_path / "s3")
    server.start()
    try:
        storage = server.storage("outage")
        storage.create_bucket()
        server.stop()
        with pytest.raises(StorageUnavailable):
            storage.write("poses/o/a.png", PNG)
        restart = threading.Timer(2.0, server.start)
        restart.start()
        started = time.monotonic()
        with_storage_retry(lambda: storage.write("poses/o/a.png", PNG), log=logging.getLogger("t"), deadline=60)
        restart.join()
        assert time.monotonic() - started >= 2.0
        assert storage.read("poses/o/a.png") == PNG
        with pytest.raises(StorageUnavailable):
            server.stop()
            with_storage_retry(lambda: storage.read("poses/o/a.png"), log=logging.getLogger("t"), deadline=1.0)
    finally:
        server.stop()


def closed_port_storage() -> S3Storage:
    """An S3 endpoint that nothing listens on: every call is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return S3Storage(
        bucket="gone",
        endpoint_url=f"http://127.0.0.1:{port}",
        addressing_style="path",
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
    )


def test_storage_retries_wait_out_an_outage_once_and_end_when_stopped():
    """STORAGE_RETRY_DEADLINE_SECONDS bounds one outage, not each call: past it a call is tried once, until
    one succeeds; a stop ends a wait at once, and a call made while stopping during the outage is not tried."""
    storage, attempts, stop = closed_port_storage(), [], threading.Event()

    def write() -> None:
        attempts.append(1)
        storage.write("poses/o/a.png", PNG)

    retry = StorageRetry(deadline_seconds=1.0, stop=stop, log=logging.getLogger("t"))
    with pytest.raises(StorageUnavailable):
        retry(write)
    assert len(attempts) >= 2, "retried within the deadline"
    attempts.clear()
    with pytest.raises(StorageUnavailable):
        retry(write)
    assert len(attempts) == 1, "past the outage's deadline a call is tried once"
    retry(lambda: None)
    attempts.clear()
    with pytest.raises(StorageUnavailable):
        retry(write)
    assert len(attempts) >= 2, "after a success, a new outage has a deadline of its own"

    waiting, ended = StorageRetry(deadline_seconds=3000, stop=stop, log=logging.getLogger("t")), []
    attempts.clear()

    def wait_out() -> None:
        with pytest.raises(StorageUnavailable):
            waiting(write)
        ended.append(True)

    thread = threading.Thread(target=wait_out, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while len(attempts) < 2:
        assert time.monotonic() < deadline, "no retry"
        time.sleep(0.05)
    stop.set()
    thread.join(timeout=60)
    assert ended == [True], "the stop ended the wait"
    attempts.clear()
    with pytest.raises(StorageUnavailable):
        waiting(write)
    assert attempts == [], "once stopping, a call during the outage is not tried"


def test_open_stream_gives_the_size_and_the_bytes(storage):
    big = bytes(range(256)) * 5000  # more than one chunk (1 MiB) of the local backend
    storage.write("exports/e1/all.zip", big)
    size, chunks = storage.open_stream("exports/e1/all.zip")
    assert size == len(big) and b"".join(chunks) == big
    with pytest.raises(FileNotFoundError):
        storage.open_stream("exports/e1/none.zip")
