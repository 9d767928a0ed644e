#!/usr/bin/env bash
# `make test-compose`: the compose file built and started for real, from nothing a fresh machine lacks.
#  1. Debian's Docker Engine (docker.io) and Debian 13's compose v2 binary as a CLI plugin (Debian 12's compose
#     1.29 cannot read the file), fetched by name from Debian's archive with a private source list.
#  2. An engine of the run's own: its own socket, data root (so no image or layer from an earlier run is
#     reused) and no bridge (every container on the host's network, every address 127.0.0.1); stopped and
#     removed at the end by the pid it started with.
#  3. A local stand-in for python:3.11-slim (no image registry is reachable: compose/ci/base-image.sh), and the
#     machine's torch CPU wheel in the worker image's build context (requirements/wheels).
#  4. tests/compose against it (docker compose build, up, --scale, restart: tests/compose/test_cluster.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
STATE=${POSEGEN_CI_STATE:-/var/tmp/posegen-compose-ci}
TORCH_CPU_WHEEL=${TORCH_CPU_WHEEL:-$(ls /opt/wheels/torch-2.13.0+cpu-cp311-*.whl 2>/dev/null | head -n1 || true)}
mkdir -p "$STATE"

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  [ -n "${APT_UPDATED:-}" ] || { apt-get update -qq; APT_UPDATED=1; }
  apt-get install -y -qq "$@" >/dev/null
}
command -v dockerd >/dev/null || { echo "compose-ci: installing docker.io"; apt_install docker.io; }
command -v debootstrap >/dev/null || { echo "compose-ci: installing debootstrap"; apt_install debootstrap; }

plugin=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins/docker-compose
if ! docker compose version 2>/dev/null | grep -q 'version v\?2'; then
  echo "compose-ci: fetching compose v2 (Debian 13's docker-compose)"
  apt_dir=$STATE/apt
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$(dirname "$plugin")"
  mirror=$(awk '$1 == "URIs:" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  echo "deb ${mirror:-http://deb.debian.org/debian} trixie main" > "$apt_dir/sources.list"
  opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
        -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache")
  apt-get "${opts[@]}" update -qq
  (cd "$apt_dir" && apt-get "${opts[@]}" download docker-compose 2>/dev/null)
  dpkg-deb -x "$apt_dir"/docker-compose_*.deb "$apt_dir/root"
  install -m 755 "$apt_dir/root/usr/libexec/docker/cli-plugins/docker-compose" "$plugin"
fi
docker compose version

engine=$(mktemp -d "$STATE/engine.XXXXXX")
export DOCKER_HOST=unix://$engine/docker.sock
dockerd --bridge=none --iptables=false --ip-masq=false --host "$DOCKER_HOST" --data-root "$engine/data" \
  --exec-root "$engine/exec" --pidfile "$engine/docker.pid" > "$engine/dockerd.log" 2>&1 &
dockerd_pid=$!
wheel_link=""
stop_engine() {
  kill "$dockerd_pid" 2>/dev/null && wait "$dockerd_pid" 2>/dev/null || true
  [ -z "$wheel_link" ] || rm -f "$wheel_link"
  # The engine leaves mounts under its folders (its network namespace, overlays): unmount, deepest first.
  awk -v root="$engine/" 'index($2, root) == 1 {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l || true
  rm -rf "$engine" || echo "compose-ci: could not remove $engine" >&2
}
trap stop_engine EXIT
for _ in $(seq 1 60); do docker version >/dev/null 2>&1 && break; sleep 0.5; done
docker version --format 'compose-ci: Docker Engine {{.Server.Version}}' || { tail -n 20 "$engine/dockerd.log"; exit 1; }

bash compose/ci/base-image.sh
if [ -n "$TORCH_CPU_WHEEL" ] && [ ! -e "requirements/wheels/$(basename "$TORCH_CPU_WHEEL")" ]; then
  wheel_link=requirements/wheels/$(basename "$TORCH_CPU_WHEEL")
  ln "$TORCH_CPU_WHEEL" "$wheel_link" 2>/dev/null || cp "$TORCH_CPU_WHEEL" "$wheel_link"
fi

POSEGEN_COMPOSE_TEST=1 "$REPO/.venv/bin/pytest" tests/compose -p no:cacheprovider "$@"
