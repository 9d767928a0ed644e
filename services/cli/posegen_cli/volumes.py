"""``posegen volumes prepare``: make a shared volume writable for the services' non-root user.

Kubernetes' ``fsGroup`` would do it, but many CSI drivers skip that ownership change for ReadWriteMany
volumes (NFS, EFS, Filestore, CephFS), and a fresh volume's root is then owned by root with mode 755: the
uid 10001 services cannot write into it. Run as root with only CAP_CHOWN and CAP_FOWNER (an init
container), this changes the owner of each volume's top folder, never of what is below it, and only when
the user could not write there already."""

from __future__ import annotations

import argparse
import os
import stat
from pathlib import Path

DOCS = "docs/deployment.md, 'Shared volumes'"


class VolumeError(RuntimeError):
    """The volume cannot be made writable from inside the pod."""


def writable_by(st: os.stat_result, *, uid: int, gid: int) -> bool:
    """Would ``uid`` (with ``gid`` among its groups) be able to create files in this folder? The kernel
    looks at the owner's bits when it owns the folder, else the group's, else the others' (ACLs aside)."""
    if st.st_uid == uid:
        bits = stat.S_IWUSR | stat.S_IXUSR
    elif st.st_gid == gid:
        bits = stat.S_IWGRP | stat.S_IXGRP
    else:
        bits = stat.S_IWOTH | stat.S_IXOTH
    return st.st_mode & bits == bits


def prepare_volume(*, path: Path, uid: int, gid: int) -> str:
    """``"writable"`` when nothing had to change, ``"chowned"`` after giving the folder to ``uid:gid``."""
    st = path.stat()
    if not stat.S_ISDIR(st.st_mode):
        raise VolumeError(f"{path} is not a folder: is the volume mounted there?")
    if writable_by(st, uid=uid, gid=gid):
        return "writable"
    try:
        os.chown(path, uid, gid)
        os.chmod(path, stat.S_IMODE(st.st_mode) | stat.S_IRWXU)
    except OSError as error:
        raise VolumeError(
            f"{path} (owner {st.st_uid}:{st.st_gid}, mode {stat.S_IMODE(st.st_mode):o}) is not writable by "
            f"uid {uid} and cannot be given to it: {error.strerror}. An NFS export with root_squash refuses "
            f"this; give the export or the access point to {uid}:{gid} instead (see {DOCS})"
        ) from error
    return "chowned"


def parse_owner(value: str) -> tuple[int, int]:
    """``uid:gid`` (or a bare ``uid``, its own group) as numbers; argparse turns the error into a usage error."""
    uid, _, gid = value.partition(":")
    if not uid.isdigit() or not (gid or uid).isdigit():
        raise argparse.ArgumentTypeError(f"expected uid:gid as numbers (like 10001:10001), got {value!r}")
    return int(uid), int(gid or uid)
