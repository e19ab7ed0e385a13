#!/bin/bash
# Build Strongbox's container image (deploy/Containerfile) offline and try it: the container answers /healthz and
# /readyz on a free loopback port (embedded SQLite mode, development profile), its HEALTHCHECK passes, it runs as
# uid 10001, and it stops cleanly on SIGTERM. Run as root (debootstrap and rootful podman); `make image-test`.
#
# Installs nothing: it names the Debian packages that are missing and stops. The base images (Debian bookworm,
# minbase, from debootstrap with the mirror this machine's apt uses) are cached in $STRONGBOX_IMAGE_BASE_DIR and
# the dependency wheels in $STRONGBOX_IMAGE_WHEELS_DIR (keyed by the locked requirement set): only the first run
# downloads anything, and the image build itself runs without network.
#
#   deploy/image-test.sh                                  # build, try, remove the image
#   deploy/image-test.sh --keep localhost/strongbox:0.1.0  # and keep it under that name (deploy/compose.yaml's)
set -euo pipefail

KEEP=""
case ${1:-} in
    --keep) KEEP=${2:?--keep needs an image name, e.g. localhost/strongbox:0.1.0} ;;
    "") ;;
    *) echo "usage: $0 [--keep IMAGE-NAME]" >&2; exit 2 ;;
esac

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BASE_DIR=${STRONGBOX_IMAGE_BASE_DIR:-/var/tmp/strongbox-image-base}
WHEELS_ROOT=${STRONGBOX_IMAGE_WHEELS_DIR:-/var/tmp/strongbox-image-wheels}
WORK=${STRONGBOX_IMAGE_WORK_DIR:-/var/tmp/strongbox-image-build}
SUITE=bookworm
BASE_IMAGE=localhost/strongbox-base:$SUITE
BUILD_BASE_IMAGE=localhost/strongbox-build-base:$SUITE
IMAGE=localhost/strongbox:image-test
CONTAINER=strongbox-image-test-$$
UID_EXPECTED=10001
# What the runtime base holds beyond minbase: the interpreter, CA certificates (S3 and PostgreSQL over TLS) and
# time zones. The build base adds the venv module (and pip's wheel with it); the runtime base is the same tree
# with those removed, so both come from one debootstrap.
BASE_PACKAGES=python3,ca-certificates,tzdata
BUILD_ONLY_PACKAGES="python3-venv python3.11-venv python3-pip-whl python3-setuptools-whl"
# podman's defaults for nofile/nproc differ from host to host, and runc refuses any above this shell's hard
# limits: explicit values, capped by those limits.
limit() {  # limit CURRENT WANTED: the smaller, "unlimited" counting as infinite
    if [ "$1" = unlimited ] || [ "$1" -gt "$2" ]; then echo "$2"; else echo "$1"; fi
}
NOFILE=$(limit "$(ulimit -Hn)" 65536)
NPROC=$(limit "$(ulimit -Hu)" 8192)

START=$(date +%s)
say() { printf '%s [%4ss] %s\n' "image-test:" "$(($(date +%s) - START))" "$*"; }
fail() { say "FAIL: $*"; exit 1; }

# --- what it needs -----------------------------------------------------------------------------------------------
missing=""
for pair in podman:podman buildah:buildah debootstrap:debootstrap runc:runc; do
    binary=${pair%%:*} package=${pair#*:}
    command -v "$binary" >/dev/null 2>&1 || [ -x "/usr/sbin/$binary" ] || missing="$missing $package"
done
if [ -n "$missing" ]; then
    say "missing Debian packages:$missing (as root: apt-get install$missing)"
    exit 1
fi
[ "$(id -u)" = 0 ] || fail "run as root: debootstrap and the rootful podman build need it"
[ -x "$ROOT/.tools/bin/uv" ] || fail "$ROOT/.tools/bin/uv is missing (make install-dev creates it)"
PATH=$PATH:/usr/sbin:/sbin

# --- the base images (cached) -------------------------------------------------------------------------------------
# The Debian mirror apt uses here, read now: deb822 .sources files first, then one-line sources.list entries.
debian_mirror() {
    for file in /etc/apt/sources.list.d/*.sources; do
        [ -f "$file" ] || continue
        awk -v suite="$SUITE" '
            BEGIN { RS = ""; FS = "\n" }
            {
                uris = ""; ok_suite = 0; ok_type = 0
                for (i = 1; i <= NF; i++) {
                    line = $i
                    if (line ~ /^[ \t]*#/) continue
                    if (line ~ /^Types:/ && line ~ /[ \t]deb([ \t]|$)/) ok_type = 1
                    if (line ~ /^Suites:/ && line ~ ("[ \t]" suite "([ \t]|$)")) ok_suite = 1
                    if (line ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", line); uris = line }
                }
                if (ok_type && ok_suite && uris != "") { split(uris, u, /[ \t]+/); print u[1]; exit }
            }' "$file"
    done
    for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$file" ] || continue
        awk -v suite="$SUITE" '$1 == "deb" {
            i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
            if ($(i + 1) == suite) { print $i; exit } }' "$file"
    done
}

image_exists() { podman image exists "$1"; }

build_bases() {
    mirror=$(debian_mirror | head -n 1)
    [ -n "$mirror" ] || fail "no Debian $SUITE mirror in /etc/apt/sources.list or /etc/apt/sources.list.d/"
    say "debootstrap $SUITE (minbase + $BASE_PACKAGES, python3-venv) into $BASE_DIR"
    # An interrupted debootstrap may leave /proc or /sys mounted in the tree: unmount before deleting it.
    awk -v root="$BASE_DIR/rootfs/" 'index($2, root) == 1 { print $2 }' /proc/mounts | sort -r \
        | while read -r mounted; do umount -l "$mounted"; done
    rm -rf "$BASE_DIR/rootfs" "$BASE_DIR"/*.tar
    mkdir -p "$BASE_DIR"
    debootstrap --variant=minbase --include="$BASE_PACKAGES,python3-venv" "$SUITE" "$BASE_DIR/rootfs" "$mirror" \
        >"$BASE_DIR/debootstrap.log" 2>&1 || { tail -n 20 "$BASE_DIR/debootstrap.log"; fail "debootstrap failed"; }
    # No package lists, caches or logs in the image; the apt sources debootstrap wrote stay (they are Debian's).
    chroot "$BASE_DIR/rootfs" apt-get clean
    rm -rf "$BASE_DIR/rootfs/var/lib/apt/lists/"* "$BASE_DIR/rootfs/var/log/"*.log "$BASE_DIR/rootfs/var/cache/debconf/"*-old
    tar --numeric-owner -C "$BASE_DIR/rootfs" -cf "$BASE_DIR/build-base.tar" .
    # shellcheck disable=SC2086  # a list of package names
    chroot "$BASE_DIR/rootfs" dpkg --purge $BUILD_ONLY_PACKAGES >>"$BASE_DIR/debootstrap.log" 2>&1 \
        || fail "could not remove the build-only packages from the runtime base"
    tar --numeric-owner -C "$BASE_DIR/rootfs" -cf "$BASE_DIR/base.tar" .
    rm -rf "$BASE_DIR/rootfs"
    # Images imported from earlier tarballs are stale now.
    podman rmi --force "$BASE_IMAGE" "$BUILD_BASE_IMAGE" >/dev/null 2>&1 || true
}

import_bases() {
    for pair in "build-base.tar:$BUILD_BASE_IMAGE" "base.tar:$BASE_IMAGE"; do
        tarball=${pair%%:*} name=${pair#*:}
        image_exists "$name" && continue
        say "podman import $tarball as $name"
        podman import --quiet --change 'CMD ["/bin/bash"]' "$BASE_DIR/$tarball" "$name" >/dev/null
    done
}

if [ -f "$BASE_DIR/base.tar" ] && [ -f "$BASE_DIR/build-base.tar" ]; then
    say "base tarballs cached in $BASE_DIR"
else
    build_bases
fi
import_bases

# --- the build context: sources, locked wheels ------------------------------------------------------------------
requirements=$(mktemp)
trap 'rm -f "$requirements" "$requirements.all"' EXIT
(cd "$ROOT" && UV_PROJECT_ENVIRONMENT=.venv .tools/bin/uv export --quiet --frozen --no-dev --no-emit-project \
    --format requirements-txt) >"$requirements" || fail "uv export failed"
key=$(sha256sum "$requirements" | cut -c1-16)
WHEELS=$WHEELS_ROOT/$key
if [ ! -f "$WHEELS/.complete" ]; then
    say "downloading the locked wheels (and hatchling, for the editable install) into $WHEELS"
    rm -rf "$WHEELS" && mkdir -p "$WHEELS"
    # The host runs the image's Python (Debian bookworm's 3.11 on the same architecture), so its wheels fit.
    pip_log=$WHEELS_ROOT/pip-download.log
    # Every locked package whatever its environment marker: the host's Python (say 3.11.7) may not be the image's
    # (bookworm's 3.11.2 needs async-timeout, `python_full_version < '3.11.3'`); pip in the image picks by marker.
    sed 's/ ; [^\\]*\\$/ \\/' "$requirements" >"$requirements.all"
    { "$ROOT/.tools/bin/python" -m pip download --quiet --disable-pip-version-check --only-binary :all: \
          --require-hashes --no-deps -r "$requirements.all" -d "$WHEELS" \
      && "$ROOT/.tools/bin/python" -m pip download --quiet --disable-pip-version-check --only-binary :all: \
          hatchling editables -d "$WHEELS"; } >"$pip_log" 2>&1 \
        || { grep -v '^WARNING: Location' "$pip_log" | tail -n 20; fail "downloading the wheels failed"; }
    touch "$WHEELS/.complete"
else
    say "wheels cached in $WHEELS"
fi
rm -rf "$WORK" && mkdir -p "$WORK/context"
CONTEXT=$WORK/context
cp -a "$WHEELS" "$CONTEXT/wheels" && rm -f "$CONTEXT/wheels/.complete"
cp "$requirements" "$CONTEXT/wheels/requirements.txt"
# The working tree as it is (tracked and new files, nothing git ignores), so uncommitted changes are tested too.
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard -- src templates static pyproject.toml README.md \
    | xargs -0 sh -c 'for f; do [ -f "$f" ] && printf "%s\0" "$f"; done' sh \
    | tar --null -T - -cf -) | tar -C "$CONTEXT" -xf -

cleanup() {
    status=$?
    podman rm --force --ignore "$CONTAINER" >/dev/null 2>&1 || true
    if [ -n "$KEEP" ] && [ "$status" = 0 ]; then
        podman untag "$IMAGE" "$IMAGE" >/dev/null 2>&1 || true  # that name only: the kept one stays
    else
        podman rmi --force "$IMAGE" >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK" "$requirements" "$requirements.all"
    exit $status
}
trap cleanup EXIT INT TERM

# --- the image ----------------------------------------------------------------------------------------------------
# Offline by construction (pip --no-index, the wheelhouse in the context): chroot isolation has no --network none.
say "podman build"
build_start=$(date +%s)
podman build --quiet --isolation=chroot --format docker --layers=false \
    -f "$ROOT/deploy/Containerfile" -t "$IMAGE" "$CONTEXT" >"$WORK/build.log" 2>&1 \
    || { tail -n 30 "$WORK/build.log"; fail "podman build failed"; }
say "built $IMAGE in $(($(date +%s) - build_start)) s, $(podman image inspect --format '{{.Size}}' "$IMAGE" \
    | awk '{ printf "%.0f MB", $1 / 1e6 }')"
user=$(podman image inspect --format '{{.Config.User}}' "$IMAGE")
[ "$user" = "$UID_EXPECTED:$UID_EXPECTED" ] || fail "the image's USER is '$user', not $UID_EXPECTED:$UID_EXPECTED"

# --- running it -------------------------------------------------------------------------------------------------
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
say "podman run on 127.0.0.1:$port (embedded mode, development profile)"
# As Kubernetes runs it (deploy/kubernetes): read-only root filesystem with a writable /tmp and /data (the
# image's VOLUME), no capabilities, no privilege escalation. The health check runs when asked (below), not on a
# timer: podman's timers need systemd.
podman run --detach --name "$CONTAINER" --runtime runc \
    --ulimit "nofile=$NOFILE:$NOFILE" --ulimit "nproc=$NPROC:$NPROC" \
    --read-only --tmpfs /tmp:rw,nosuid,nodev --cap-drop ALL --security-opt no-new-privileges \
    --health-interval disable --publish "127.0.0.1:$port:8000" "$IMAGE" >/dev/null 2>>"$WORK/podman.log" \
    || { cat "$WORK/podman.log"; fail "podman run failed"; }

probe() {  # probe PATH: print the status code and the body
    python3 - "http://127.0.0.1:$port$1" <<'EOF'
import sys
import urllib.error
import urllib.request

try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as response:
        print(response.status, response.read().decode())
except urllib.error.HTTPError as error:
    print(error.code, error.read().decode())
except OSError as error:
    print(0, error)
EOF
}

ready=""
for _ in $(seq 1 120); do
    answer=$(probe /readyz)
    case $answer in 200\ *) ready=$answer; break ;; esac
    [ "$(podman inspect --format '{{.State.Running}}' "$CONTAINER")" = true ] || break
    sleep 0.5
done
if [ -z "$ready" ]; then
    podman logs "$CONTAINER" 2>&1 | tail -n 30
    fail "/readyz did not answer 200 (last: $answer)"
fi
say "GET /readyz -> $ready"
case $ready in *'"status": "ok"'*|*'"status":"ok"'*) ;; *) fail "/readyz is not ok: $ready" ;; esac
health=$(probe /healthz)
say "GET /healthz -> $health"
case $health in 200\ *'ok'*) ;; *) fail "/healthz: $health" ;; esac

uids=$(podman top "$CONTAINER" huser user args | awk 'NR > 1 { print $1 }' | sort -u | tr '\n' ' ')
say "processes run as uid: $uids"
[ "$uids" = "$UID_EXPECTED " ] || fail "a process in the container does not run as uid $UID_EXPECTED: $uids"
inside=$(podman exec "$CONTAINER" id -u)
[ "$inside" = "$UID_EXPECTED" ] || fail "podman exec runs as uid $inside"
data=$(podman exec "$CONTAINER" stat -c '%u %a' /data)
[ "$data" = "$UID_EXPECTED 700" ] || fail "/data is '$data' (owner, mode), not '$UID_EXPECTED 700'"

podman healthcheck run "$CONTAINER" >/dev/null 2>>"$WORK/podman.log" || fail "the image's HEALTHCHECK failed"
say "HEALTHCHECK passes"

stop_start=$(date +%s)
podman stop --time 30 "$CONTAINER" >/dev/null 2>>"$WORK/podman.log"
code=$(podman inspect --format '{{.State.ExitCode}}' "$CONTAINER")
say "stopped by SIGTERM in $(($(date +%s) - stop_start)) s, exit status $code"
[ "$code" = 0 ] || { podman logs "$CONTAINER" 2>&1 | tail -n 20; fail "exit status $code after SIGTERM"; }

if [ -n "$KEEP" ]; then
    podman tag "$IMAGE" "$KEEP"
    say "kept the image as $KEEP"
fi
say "PASS in $(($(date +%s) - START)) s"
