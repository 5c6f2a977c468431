#!/usr/bin/env bash
# Build a small Node.js base image OFFLINE from this machine's own files and
# publish it for flowpack's tests:
#   - rootfs: the host's node binary + its shared libraries (ldd closure and the
#     dynamic loader), the host's npm (and corepack), busybox-static as /bin/sh
#     plus applet symlinks, /etc/passwd+group (root, node:1000), CA bundle
#   - imported into the private dockerd as flowpack-test/node:20 and
#     node:20-bookworm-slim (flowpack's default Node 20 base image name)
#   - pushed to the plain registry as 127.0.0.1:$FLOWPACK_REGISTRY_PORT/flowpack-test/node:20
#   - copied as an OCI layout to $FLOWPACK_SERVICES_DIR/oci/node-20 (tag 20)
# Every step is skipped when its result is already there and its inputs are
# unchanged. Normally called by `scripts/services.sh start`; the services must
# be running. Usage: scripts/base-image.sh [--force]
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
DIR=${FLOWPACK_SERVICES_DIR:-/tmp/flowpack-services}
DIR=$(cd "$DIR" && pwd -P)
REGISTRY_PORT=${FLOWPACK_REGISTRY_PORT:-5555}
export DOCKER_HOST=${DOCKER_HOST:-unix://$DIR/docker/docker.sock}
if [[ -n ${FLOWPACK_DOCKER_CLI:-} ]]; then
  DOCKER_CLI=$FLOWPACK_DOCKER_CLI
elif [[ -x /usr/bin/docker ]]; then
  DOCKER_CLI=/usr/bin/docker
else
  DOCKER_CLI=$(command -v docker || echo docker)
fi
# never read or write the user's ~/.docker (no credentials needed here)
DOCKER_CONFIG=$(mktemp -d)
export DOCKER_CONFIG
trap 'rm -rf "$DOCKER_CONFIG"' EXIT

WORK=$DIR/base-image
LOCAL_REF=flowpack-test/node:20
ALIAS_REF=node:20-bookworm-slim
REG_REPO=flowpack-test/node
REG_REF=127.0.0.1:$REGISTRY_PORT/$REG_REPO:20
LAYOUT=$DIR/oci/node-20
LABEL=org.flowpack.test.inputs
FORCE=0
[[ ${1:-} == --force ]] && FORCE=1

log() { printf '[base-image] +%ss %s\n' "$SECONDS" "$*" >&2; }
die() { printf '[base-image] ERROR: %s\n' "$*" >&2; exit 1; }
docker() { "$DOCKER_CLI" "$@"; }

mkdir -p "$WORK"
if [[ -z ${FLOWPACK_SERVICES_LOCKED:-} ]]; then
  exec 9>"$DIR/.lock"
  flock -w 300 9 || die "could not get the lock on $DIR/.lock"
fi
docker version >/dev/null 2>&1 || die "docker daemon at $DOCKER_HOST is not answering (run scripts/services.sh start)"

# ------------------------------------------------------------------ inputs

NODE=$(command -v node) || die "node not found on PATH"
NODE=$(readlink -f "$NODE")
NODE_VERSION=$("$NODE" --version)

NPM_DIR=
if npm_bin=$(command -v npm); then
  npm_real=$(readlink -f "$npm_bin")
  [[ $npm_real == */bin/npm-cli.js ]] && NPM_DIR=${npm_real%/bin/npm-cli.js}
fi
if [[ -z $NPM_DIR || ! -f $NPM_DIR/package.json ]]; then
  NPM_DIR=$(dirname "$(dirname "$NODE")")/lib/node_modules/npm
fi
if [[ ! -f $NPM_DIR/bin/npm-cli.js ]]; then
  NPM_DIR=$(npm root -g 2>/dev/null)/npm
fi
[[ -f $NPM_DIR/bin/npm-cli.js ]] || die "cannot find the host's npm package directory"
COREPACK_DIR=$(dirname "$NPM_DIR")/corepack
[[ -f $COREPACK_DIR/dist/corepack.js ]] || COREPACK_DIR=

BUSYBOX=$(command -v busybox) || die "busybox not found (apt-get install busybox-static)"
BUSYBOX=$(readlink -f "$BUSYBOX")
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
[[ -f $CA_BUNDLE ]] || CA_BUNDLE=

# ldd closure (ldd already lists transitive deps) plus the dynamic loader
ldd_closure() {
  local out
  out=$(ldd "$1" 2>&1) || { [[ $out == *"not a dynamic executable"* ]] && return 0; die "ldd $1: $out"; }
  [[ $out != *"not found"* ]] || die "ldd $1: missing libraries: $out"
  awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$out"
}
libs_out=$({ ldd_closure "$NODE"; ldd_closure "$BUSYBOX"; } | sort -u)
mapfile -t LIBS <<<"$libs_out"
((${#LIBS[@]} > 0)) || die "ldd found no libraries for $NODE"

file_sig() { printf '%s %s %s\n' "$1" "$(readlink -f "$1")" "$(stat -Lc '%s %Y' "$1")"; }
tree_sig() { [[ -z $1 ]] || (cd "$1" && find . -printf '%P %s %T@ %l\n' | LC_ALL=C sort | sha256sum); }

FINGERPRINT=$(
  {
    echo "base-image v1"
    sha256sum <"$SELF"
    echo "node $NODE_VERSION"
    file_sig "$NODE"
    file_sig "$BUSYBOX"
    [[ -z $CA_BUNDLE ]] || file_sig "$CA_BUNDLE"
    for l in "${LIBS[@]}"; do file_sig "$l"; done
    echo "npm $NPM_DIR"; tree_sig "$NPM_DIR"
    echo "corepack $COREPACK_DIR"; tree_sig "$COREPACK_DIR"
  } | sha256sum | cut -c1-64
)

# ------------------------------------------------------------------ rootfs

build_rootfs() {
  local R=$WORK/rootfs l top a dest
  rm -rf "$R"
  mkdir -p "$R"
  cd "$R"
  mkdir -p usr/bin usr/sbin usr/lib usr/local/bin usr/local/lib/node_modules \
    etc/ssl/certs tmp var/tmp root home/node proc sys dev run
  # merged /usr, like Debian bookworm
  ln -s usr/bin bin
  ln -s usr/sbin sbin
  ln -s usr/lib lib
  for l in "${LIBS[@]}"; do
    top=${l#/}
    top=${top%%/*}
    if [[ $top != usr && $top != lib && ! -e $top ]]; then
      mkdir -p "usr/$top"
      ln -s "usr/$top" "$top"
    fi
    mkdir -p "./$(dirname "$l")"
    cp -L "$l" "./$l"
  done

  cp "$NODE" usr/local/bin/node
  chmod 755 usr/local/bin/node
  cp -a "$NPM_DIR" usr/local/lib/node_modules/npm
  ln -s ../lib/node_modules/npm/bin/npm-cli.js usr/local/bin/npm
  ln -s ../lib/node_modules/npm/bin/npx-cli.js usr/local/bin/npx
  if [[ -n $COREPACK_DIR ]]; then
    cp -a "$COREPACK_DIR" usr/local/lib/node_modules/corepack
    ln -s ../lib/node_modules/corepack/dist/corepack.js usr/local/bin/corepack
  fi

  cp "$BUSYBOX" usr/bin/busybox
  chmod 755 usr/bin/busybox
  while read -r a; do
    case $a in
      bin/* | usr/bin/*) dest=usr/bin/${a##*/} target=busybox ;;
      sbin/* | usr/sbin/*) dest=usr/sbin/${a##*/} target=../bin/busybox ;;
      *) continue ;;
    esac
    [[ -e $dest || -L $dest ]] || ln -s "$target" "$dest"
  done < <("$BUSYBOX" --list-full)
  [[ -L usr/bin/sh ]] || die "busybox has no sh applet"

  cat >etc/passwd <<'EOF'
root:x:0:0:root:/root:/bin/sh
node:x:1000:1000::/home/node:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
  cat >etc/group <<'EOF'
root:x:0:
node:x:1000:
nogroup:x:65534:
EOF
  cat >etc/nsswitch.conf <<'EOF'
passwd: files
group: files
shadow: files
hosts: files dns
EOF
  cat >etc/hosts <<'EOF'
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
EOF
  cat >etc/os-release <<EOF
PRETTY_NAME="flowpack test base (host node $NODE_VERSION, busybox)"
NAME="flowpack-test-base"
ID=flowpack-test-base
EOF
  [[ -z $CA_BUNDLE ]] || cp -L "$CA_BUNDLE" etc/ssl/certs/ca-certificates.crt
  chmod 1777 tmp var/tmp
  chmod 700 root
  chown -R 1000:1000 home/node
  cd - >/dev/null
}

image_label() {
  docker image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$1" 2>/dev/null || true
}
image_id() { docker image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }

registry_digest() {
  curl -s -m 10 -o /dev/null -D - -I \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://127.0.0.1:$REGISTRY_PORT/v2/$REG_REPO/manifests/20" |
    tr -d '\r' | awk 'tolower($1) == "docker-content-digest:" { print $2 }'
}

verify_image() {
  local out
  out=$(docker run --rm --network none "$LOCAL_REF" node -e 'console.log(process.version)') ||
    die "node does not run in $LOCAL_REF"
  [[ $out == "$NODE_VERSION" ]] || die "node in image printed '$out', expected $NODE_VERSION"
  out=$(docker run --rm --network none "$LOCAL_REF" npm --version) || die "npm does not run in $LOCAL_REF"
  log "verified: node $NODE_VERSION, npm $out"
  out=$(docker run --rm --network none --user node "$LOCAL_REF" \
    sh -c 'id; cd "$HOME" && mkdir d && ls -d d >/dev/null && rm -r d && cat /etc/passwd >/dev/null') ||
    die "sh/busybox or user node does not work in $LOCAL_REF"
  [[ $out == "uid=1000(node) gid=1000(node)"* ]] || die "id as user node printed '$out'"
}

# ------------------------------------------------------------------ main

t0=$SECONDS
changed=0
old_id=$(image_id "$LOCAL_REF")
if ((FORCE)) || [[ $(image_label "$LOCAL_REF") != "$FINGERPRINT" ]]; then
  log "building rootfs from host node $NODE_VERSION ($NODE), npm $(sed -n 's/^ *"version": *"\(.*\)".*/\1/p' "$NPM_DIR/package.json" | head -1)"
  build_rootfs
  log "rootfs: $(du -sh "$WORK/rootfs" | cut -f1); importing into docker"
  # fixed order and mtimes: the same inputs give a bit-identical layer
  tar -C "$WORK/rootfs" --numeric-owner --sort=name --mtime="@$(stat -c %Y "$NODE")" -cf - . |
    docker import \
      --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
      --change "ENV NODE_VERSION=${NODE_VERSION#v}" \
      --change 'WORKDIR /' \
      --change 'CMD ["node"]' \
      --change "LABEL $LABEL=$FINGERPRINT" \
      --message "flowpack test base image (host node $NODE_VERSION)" \
      - "$LOCAL_REF" >/dev/null
  rm -rf "$WORK/rootfs" # the image holds it now; keeps vfs disk use down
  changed=1
fi
new_id=$(image_id "$LOCAL_REF")
[[ -n $new_id ]] || die "image $LOCAL_REF missing after import"
for ref in "$ALIAS_REF" "$REG_REF"; do
  [[ $(image_id "$ref") == "$new_id" ]] || docker tag "$new_id" "$ref"
done
if [[ -n $old_id && $old_id != "$new_id" ]]; then
  docker rmi "$old_id" >/dev/null 2>&1 || log "old image $old_id still in use; not removed"
fi

# push to the plain registry unless it already has exactly this image
pushed_state=$WORK/pushed-for
want_state="$new_id $REG_REF"
digest=$(registry_digest)
if ((changed)) || [[ -z $digest || ! -s $WORK/pushed-digest || $(<"$WORK/pushed-digest") != "$digest" ||
  $(cat "$pushed_state" 2>/dev/null) != "$want_state" ]]; then
  log "pushing $REG_REF"
  docker push "$REG_REF" >"$WORK/push.log" 2>&1 &
  push_pid=$!
  # verify a new image while the daemon compresses and pushes it
  ((changed == 0)) || verify_image
  wait "$push_pid" || { cat "$WORK/push.log" >&2; die "docker push $REG_REF failed"; }
  digest=$(registry_digest)
  [[ $digest == sha256:* ]] || die "registry has no manifest for $REG_REF after push"
  printf '%s\n' "$digest" >"$WORK/pushed-digest"
  printf '%s\n' "$want_state" >"$pushed_state"
  changed=1
fi

# OCI layout copy of the registry image
if ((changed)) || [[ ! -s $LAYOUT/index.json || $(cat "$WORK/layout-from" 2>/dev/null) != "$digest" ]]; then
  log "writing OCI layout $LAYOUT (tag 20)"
  rm -rf "$LAYOUT"
  mkdir -p "$(dirname "$LAYOUT")"
  policy=()
  if [[ ! -f /etc/containers/policy.json ]]; then
    echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$WORK/policy.json"
    policy=(--policy "$WORK/policy.json")
  fi
  skopeo "${policy[@]}" copy --quiet --src-tls-verify=false --src-no-creds \
    "docker://$REG_REF" "oci:$LAYOUT:20" >&2
  printf '%s\n' "$digest" >"$WORK/layout-from"
  changed=1
fi

if ((changed)); then
  log "done in $((SECONDS - t0))s: $LOCAL_REF = $ALIAS_REF = $REG_REF@$digest ($(docker image inspect --format '{{.Size}}' "$new_id" | awk '{printf "%.0f MB", $1/1e6}'))"
else
  log "up to date: $REG_REF@$digest"
fi
