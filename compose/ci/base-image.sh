#!/usr/bin/env bash
# Makes a local stand-in for python:3.11-slim where no image registry is reachable: Debian 12 (minbase) from
# Debian's archive with its Python 3.11, imported into the local Docker Engine as $BASE_IMAGE.
#   bash compose/ci/base-image.sh [IMAGE]      (default posegen-local/python:3.11-bookworm)
# Like python:3.11-slim it has `python` and `pip` on the PATH and lets pip install into the system Python;
# the machine's CA bundle is baked in (PIP_CERT), since pip in a container otherwise fails its TLS checks here.
set -euo pipefail
IMAGE=${1:-posegen-local/python:3.11-bookworm}
# The machine's own Debian mirror (its deb822 sources), else Debian's.
MIRROR=${DEBIAN_MIRROR:-$(awk '$1 == "URIs:" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

if docker image inspect "$IMAGE" >/dev/null 2>&1; then echo "base image $IMAGE is there"; exit 0; fi
command -v debootstrap >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }

root=$(mktemp -d /var/tmp/posegen-rootfs.XXXXXX)
trap 'rm -rf "$root" "$root.log"' EXIT
echo "debootstrap bookworm from $MIRROR (about a minute)"
debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
  bookworm "$root" "$MIRROR" > "$root.log" || { tail -n 20 "$root.log"; exit 1; }
rm -f "$root"/usr/lib/python3.*/EXTERNALLY-MANAGED
ln -sf /usr/bin/python3 "$root/usr/local/bin/python"
ln -sf /usr/bin/pip3 "$root/usr/local/bin/pip"
cp "$CA_BUNDLE" "$root/etc/ssl/certs/posegen-build-ca.crt"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import \
  -c 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin LANG=C.UTF-8' \
  -c 'ENV PIP_CERT=/etc/ssl/certs/posegen-build-ca.crt REQUESTS_CA_BUNDLE=/etc/ssl/certs/posegen-build-ca.crt' \
  -c 'CMD ["python3"]' - "$IMAGE" >/dev/null
echo "imported $IMAGE"
