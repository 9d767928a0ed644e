"""`posegen volumes prepare`: a shared volume whose ownership the CSI driver did not change (fsGroup skipped)
becomes writable for uid 10001; one that already is stays untouched; one that cannot be changed fails
clearly."""

import os
import subprocess
import sys

import pytest

from posegen_cli.volumes import VolumeError, prepare_volume, writable_by

UID = GID = 10001
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="changing a folder's owner needs root (CAP_CHOWN)")


def folder(tmp_path, name, *, uid=0, gid=0, mode=0o755):
    path = tmp_path / name
    path.mkdir()
    if os.geteuid() == 0:
        os.chown(path, uid, gid)
    path.chmod(mode)
    return path


@needs_root
def test_a_root_owned_volume_is_given_to_the_service_user(tmp_path):
    path = folder(tmp_path, "fresh-nfs-volume")
    assert not writable_by(path.stat(), uid=UID, gid=GID)
    assert prepare_volume(path=path, uid=UID, gid=GID) == "chowned"
    st = path.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (UID, GID, 0o755)
    assert writable_by(st, uid=UID, gid=GID)


@needs_root
@pytest.mark.parametrize(
    ("uid", "gid", "mode"),
    [(UID, UID, 0o700), (0, GID, 0o2775), (0, 0, 0o1777)],
    ids=["owned", "fsgroup-applied", "world-writable"],
)
def test_a_volume_the_user_can_already_write_is_left_alone(tmp_path, uid, gid, mode):
    path = folder(tmp_path, "volume", uid=uid, gid=gid, mode=mode)
    before = path.stat()
    assert prepare_volume(path=path, uid=UID, gid=GID) == "writable"
    after = path.stat()
    assert (after.st_uid, after.st_gid, after.st_mode) == (before.st_uid, before.st_gid, before.st_mode)


@needs_root
def test_an_owned_folder_without_write_permission_gets_it(tmp_path):
    path = folder(tmp_path, "volume", uid=UID, gid=GID, mode=0o555)
    assert prepare_volume(path=path, uid=UID, gid=GID) == "chowned"
    assert path.stat().st_mode & 0o777 == 0o755


def test_a_refused_owner_change_names_the_way_out(tmp_path, monkeypatch):
    """NFS with root_squash: root in the pod is nobody on the server."""
    path = tmp_path / "volume"
    path.mkdir()
    path.chmod(0o755)

    def squashed(*_args):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "chown", squashed)
    if path.stat().st_uid == UID:
        pytest.skip("this test runs as the service user")
    with pytest.raises(VolumeError, match="root_squash.*10001:10001.*Shared volumes"):
        prepare_volume(path=path, uid=UID, gid=GID)


def test_the_command_reports_each_volume_and_fails_on_a_missing_one(tmp_path):
    present = tmp_path / "storage"
    present.mkdir()
    present.chmod(0o777)
    command = [sys.executable, "-m", "posegen_cli", "volumes", "prepare", "--owner", "10001:10001"]
    ok = subprocess.run([*command, str(present)], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert f"{present}: writable for 10001:10001" in ok.stdout
    missing = subprocess.run(
        [*command, str(present), str(tmp_path / "absent")], capture_output=True, text=True, timeout=60
    )
    assert missing.returncode == 1 and "absent" in missing.stderr


def test_an_owner_that_is_not_numbers_is_a_usage_error(tmp_path):
    command = [sys.executable, "-m", "posegen_cli", "volumes", "prepare", "--owner", "svc:svc", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--owner: expected uid:gid as numbers" in result.stderr and "Traceback" not in result.stderr
