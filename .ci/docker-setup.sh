#!/usr/bin/env bash
# Make a Docker engine and a Python image available for the docker sandbox tests.
#
# Contract (used by .ci/run):
#   bash .ci/docker-setup.sh [ENV_FILE]
# Idempotent, runs as root, reads no stdin. Progress and diagnostics go to stderr. On success,
# stdout carries only shell lines of the form
#   export CODEACT_DOCKER_IMAGE=<image>
# and when ENV_FILE is given the same lines are also written to it. Prefer the file, since
# `eval "$(...)"` would hide a failure of this script:
#   bash .ci/docker-setup.sh "$tmp/docker.env" && . "$tmp/docker.env"
# On failure it exits non-zero after saying what went wrong (with the dockerd log tail).
#
# Steps: when `docker info` fails, install docker.io with apt-get if dockerd is missing, start
# dockerd in the background (log: $CODEACT_DOCKERD_LOG) and wait for it (at most
# $CODEACT_DOCKERD_WAIT seconds). Then pick the image: $CODEACT_DOCKER_IMAGE when it is set and
# present; otherwise build codeact-python:bookworm from Debian packages with mmdebstrap and
# `docker import` (no registry needed; skipped when that image already exists).
set -euo pipefail

env_file="${1:-}"
local_image="codeact-python:bookworm"
dockerd_log="${CODEACT_DOCKERD_LOG:-/var/log/codeact-dockerd.log}"
dockerd_wait="${CODEACT_DOCKERD_WAIT:-60}"
export DEBIAN_FRONTEND=noninteractive

log() { echo "docker-setup: $*" >&2; }
die() { log "error: $*"; exit 1; }

apt_updated=0
apt_install() {
    if [ "$apt_updated" = 0 ]; then
        log "apt-get update"
        apt-get update -qq </dev/null >&2
        apt_updated=1
    fi
    log "apt-get install $*"
    apt-get install -y -qq --no-install-recommends "$@" </dev/null >&2
}

engine_up() { docker info >/dev/null 2>&1; }

ensure_engine() {
    if command -v docker >/dev/null && engine_up; then
        log "engine reachable"
        return
    fi
    if ! { command -v dockerd >/dev/null && command -v docker >/dev/null; }; then
        apt_install docker.io
        if engine_up; then  # the package's own service start may have worked
            log "engine reachable after installing docker.io"
            return
        fi
    fi
    if [ -n "${DOCKER_HOST:-}" ]; then
        die "DOCKER_HOST=$DOCKER_HOST is set but not reachable; unset it or start that engine"
    fi
    log "starting dockerd (log: $dockerd_log)"
    mkdir -p "$(dirname "$dockerd_log")"
    # setsid: dockerd must outlive this script and the CI step's process group.
    setsid -f dockerd >>"$dockerd_log" 2>&1 </dev/null
    local waited=0
    until engine_up; do
        if [ "$waited" -ge "$dockerd_wait" ]; then
            log "dockerd did not answer within ${dockerd_wait}s; last lines of $dockerd_log:"
            tail -n 30 "$dockerd_log" >&2 || true
            die "Docker engine not reachable"
        fi
        sleep 1
        waited=$((waited + 1))
    done
    log "engine up after ${waited}s"
}

image_present() { docker image inspect "$1" >/dev/null 2>&1; }

build_local_image() {
    command -v mmdebstrap >/dev/null || apt_install mmdebstrap
    local dir
    dir="$(mktemp -d)"
    # shellcheck disable=SC2064  # expand $dir now: it is local to this function
    trap "rm -rf '$dir'" EXIT
    log "building $local_image with mmdebstrap (bookworm + python3)"
    mmdebstrap --quiet --variant=apt --include=python3 --format=tar \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        bookworm "$dir/rootfs.tar" </dev/null >&2
    docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["python3"]' \
        "$dir/rootfs.tar" "$local_image" >&2
    rm -rf "$dir"
    trap - EXIT
}

choose_image() {
    local wanted="${CODEACT_DOCKER_IMAGE:-}"
    if [ -n "$wanted" ] && image_present "$wanted"; then
        image="$wanted"
        return
    fi
    [ -n "$wanted" ] && log "CODEACT_DOCKER_IMAGE=$wanted is not present; using $local_image"
    image_present "$local_image" || build_local_image
    image="$local_image"
}

check_image() {
    docker run --rm --network none "$image" python3 -c 'import sys; assert sys.version_info >= (3, 8)' \
        >&2 || die "image $image cannot run python3 (>= 3.8 needed)"
    log "image $image runs python3"
}

ensure_engine
image=""
choose_image
check_image
exports="export CODEACT_DOCKER_IMAGE=$image"
[ -n "$env_file" ] && printf '%s\n' "$exports" >"$env_file"
printf '%s\n' "$exports"
