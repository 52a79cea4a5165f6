#!/usr/bin/env bash
# Installs the real clients and peers used by `npm run test:interop` and `npm run bench`:
# skopeo, umoci, podman, buildah, containerd (ctr) with runc, Debian's docker-registry (CNCF Distribution,
# the reference registry) and htpasswd. Idempotent and non-interactive; run as root (CI: fresh Debian bookworm).
set -euo pipefail

packages=(
  skopeo umoci            # OCI layouts and registry copies
  podman buildah          # build from scratch, push, pull
  conmon crun runc        # podman/buildah runtime pieces (runc also for containerd)
  uidmap fuse-overlayfs slirp4netns catatonit
  golang-github-containers-common  # /etc/containers/policy.json, registries.conf
  containerd              # ctr pulls against a private daemon
  docker-registry         # the reference registry (INTEROP_TARGET=distribution, benchmark peer)
  apache2-utils           # htpasswd (bcrypt) for auth tests
  pebble openssl          # ACME test CA; certificates for the TLS tests
  postgresql              # the PostgreSQL metadata store's scale tests (scripts/services/postgres.sh)
  systemd                 # systemd-analyze verify/security for deploy/systemd/wharf.service (nothing is started)
  radosgw ceph-mon ceph-osd  # real S3 (Ceph radosgw on a memstore cluster) for the S3 driver's scale tests
  ca-certificates tar gzip
  chromium                # the web UI's end-to-end tests (npm run test:ui) and the CORS test in a real browser
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-test-deps: all ${#packages[@]} packages already installed"
else
  if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
  else
    SUDO=
  fi
  export DEBIAN_FRONTEND=noninteractive
  # refresh the package lists only when they are missing or older than a day
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null | head -n 1)" ]; then
    $SUDO apt-get update -q
  fi
  echo "install-test-deps: installing ${missing[*]}"
  if ! $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"; then
    # stale lists (a package version vanished from the mirror): refresh once and retry
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
fi

# containers/image needs a signature policy; the Debian package ships one, but make sure it exists
if [ ! -f /etc/containers/policy.json ]; then
  ${SUDO:-} mkdir -p /etc/containers
  printf '{"default":[{"type":"insecureAcceptAnything"}]}\n' | ${SUDO:-} tee /etc/containers/policy.json >/dev/null
fi

for bin in skopeo umoci podman buildah containerd ctr runc docker-registry htpasswd pebble openssl systemd-analyze ldd radosgw ceph-mon ceph-osd chromium; do
  command -v "$bin" >/dev/null || { echo "install-test-deps: $bin still missing" >&2; exit 1; }
done
echo "install-test-deps: ok ($(skopeo --version), $(ctr --version | awk '{print $3}'), podman $(podman --version | awk '{print $3}'))"
