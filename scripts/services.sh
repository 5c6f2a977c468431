#!/usr/bin/env bash
# Start/stop the local, offline services that flowpack's integration tests and
# benchmarks need: a private dockerd (with its own containerd), a plain image
# registry, a registry with htpasswd (basic) auth, and a small Node.js base
# image built from this machine's own node/npm (see scripts/base-image.sh), and a
# Podman service (its Docker-compatible API) with the base image loaded.
#
# Usage: scripts/services.sh start|stop|restart|status|env|json|selftest|clean
# See scripts/README.md.
set -euo pipefail
# No job control, even when an exported SHELLOPTS asks for it: spawn() relies on background
# children staying in our process group, so that setsid(1) execs in place and $! is the daemon.
set +m

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

DIR=${FLOWPACK_SERVICES_DIR:-/tmp/flowpack-services}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd -P)
export FLOWPACK_SERVICES_DIR=$DIR

REGISTRY_PORT=${FLOWPACK_REGISTRY_PORT:-5555}
AUTH_REGISTRY_PORT=${FLOWPACK_AUTH_REGISTRY_PORT:-5556}
AUTH_USER=flowpack
START_TIMEOUT=${FLOWPACK_SERVICES_TIMEOUT:-60}
STORAGE_DRIVER=${FLOWPACK_DOCKER_STORAGE_DRIVER:-auto}
SKIP_PODMAN=${FLOWPACK_SKIP_PODMAN:-0}
SKIP_SWARM=${FLOWPACK_SKIP_SWARM:-0}

if [[ -n ${FLOWPACK_DOCKER_CLI:-} ]]; then
  DOCKER_CLI=$FLOWPACK_DOCKER_CLI
elif [[ -x /usr/bin/docker ]]; then
  DOCKER_CLI=/usr/bin/docker # the Debian client, same version as the daemon
else
  DOCKER_CLI=$(command -v docker || echo docker)
fi

RUN_DIR=$DIR/run
LOG_DIR=$DIR/logs
CTD_DIR=$DIR/containerd
CTD_SOCK=$CTD_DIR/containerd.sock
DOCKER_DIR=$DIR/docker
DOCKER_SOCK=$DOCKER_DIR/docker.sock
DOCKER_HOST_URL=unix://$DOCKER_SOCK
REG_DIR=$DIR/registry
AUTH_DIR=$DIR/auth-registry
AUTH_PASSWORD_FILE=$AUTH_DIR/password
BASE_IMAGE_REF=127.0.0.1:$REGISTRY_PORT/flowpack-test/node:20
BASE_LAYOUT=$DIR/oci/node-20
WORKER_DIR=$DIR/docker-worker
WORKER_SOCK=$WORKER_DIR/docker.sock
WORKER_HOST_URL=unix://$WORKER_SOCK
PODMAN_DIR=$DIR/podman
PODMAN_SOCK=$PODMAN_DIR/podman.sock
PODMAN_HOST_URL=unix://$PODMAN_SOCK
# Unique per state dir, so two state dirs never share container cgroups.
DIR_HASH=$(printf '%s' "$DIR" | sha256sum | cut -c1-10)
CGROUP_PARENT=flowpack-$DIR_HASH
CTD_NAMESPACE=flowpack-$DIR_HASH
# A two-node swarm over loopback: the manager is the main dockerd, the worker a second dockerd. The
# default state dir uses 127.0.0.1 / 127.0.0.2 and the usual VXLAN port; any other state dir gets
# addresses and a data-path port of its own (from its hash), so that swarms of two state dirs on one
# machine never share a listening address (:2377, :7946) or the VXLAN port.
if [[ $DIR == "$(realpath -m /tmp/flowpack-services)" ]]; then
  swarm_net=127.0.0
  swarm_data_port=4789
else
  swarm_net=127.$((16#${DIR_HASH:0:2})).$((16#${DIR_HASH:2:2}))
  swarm_data_port=$((20000 + 16#${DIR_HASH:4:4} % 20000))
fi
SWARM_MANAGER_ADDR=${FLOWPACK_SWARM_MANAGER_ADDR:-$swarm_net.1}
SWARM_WORKER_ADDR=${FLOWPACK_SWARM_WORKER_ADDR:-$swarm_net.2}
SWARM_DATA_PORT=${FLOWPACK_SWARM_DATA_PORT:-$swarm_data_port}

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

# unix socket paths are limited to 107 bytes
if (( ${#CTD_SOCK} > 100 )); then
  die "state dir path too long for unix sockets: $DIR (use a shorter FLOWPACK_SERVICES_DIR)"
fi

# ---------------------------------------------------------------- processes

# spawned_pid NAME: prints the pid spawn() recorded for NAME if that process still exists. No
# check of its command line: right after the fork it is still a copy of this shell (not yet
# setsid, nor the daemon), and a start-up poll landing in that window must not count as the
# daemon having exited.
spawned_pid() {
  local f=$RUN_DIR/$1.pid pid
  [[ -s $f ]] || return 1
  pid=$(<"$f")
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" && echo "$pid"
}

# pid_of NAME: prints the pid recorded for NAME if that process is alive and
# still is the one we started (its command line mentions our state dir).
pid_of() {
  local pid
  pid=$(spawned_pid "$1") || return 1
  tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$DIR/" || return 1
  echo "$pid"
}

# spawn NAME LOGFILE CMD...: start CMD detached (own session, stdin closed).
spawn() {
  local name=$1 logfile=$2
  shift 2
  : >>"$logfile"
  printf '\n===== %s start %s =====\n' "$name" "$(date -u +%FT%TZ)" >>"$logfile"
  # Without job control the background child is not a process-group leader,
  # so setsid(1) calls setsid() and execs in place: $! is the daemon's pid.
  # fd 9 holds our lock: the daemon must not inherit it.
  setsid "$@" >>"$logfile" 2>&1 </dev/null 9>&- &
  echo $! >"$RUN_DIR/$name.pid"
}

# start_daemon NAME READY_FN CMD...: spawn CMD as NAME and wait until READY_FN answers. A daemon
# that exits at once is started again (containerd was seen to exit silently on a first start,
# rarely and not reproducibly); one that runs but does not answer is not.
start_daemon() {
  local name=$1 ready=$2 attempt
  shift 2
  for attempt in 1 2 3; do
    log "starting $name (attempt $attempt)"
    spawn "$name" "$LOG_DIR/$name.log" "$@"
    wait_until "$START_TIMEOUT" "$name" "$name" "$ready" && return 0
    pid_of "$name" >/dev/null && break
    sleep 1
  done
  fail_with_log "$LOG_DIR/$name.log" "$name failed to start"
}

# wait_until SECONDS DESCRIPTION PIDNAME CMD...: poll CMD until it succeeds.
wait_until() {
  local secs=$1 what=$2 name=$3
  shift 3
  local deadline=$((SECONDS + secs))
  while ((SECONDS < deadline)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if [[ -n $name ]] && ! spawned_pid "$name" >/dev/null; then
      log "$what: process exited during startup"
      return 1
    fi
    sleep 0.2
  done
  log "$what: not ready after ${secs}s"
  return 1
}

fail_with_log() {
  local logfile=$1 msg=$2
  log "$msg; last lines of $logfile:"
  tail -n 40 "$logfile" >&2 || true
  exit 1
}

# alive PID: the process exists and is not a zombie waiting to be reaped.
alive() {
  kill -0 "$1" 2>/dev/null && [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]
}

# kill_wait PID SECONDS: SIGTERM, wait, then SIGKILL.
kill_wait() {
  local pid=$1 secs=$2
  kill -TERM "$pid" 2>/dev/null || return 0
  local deadline=$((SECONDS + secs))
  while alive "$pid" && ((SECONDS < deadline)); do
    sleep 0.2
  done
  if alive "$pid"; then
    log "pid $pid did not stop in ${secs}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.3
  fi
}

stop_named() {
  local name=$1 secs=$2 pid
  if pid=$(pid_of "$name"); then
    log "stopping $name (pid $pid)"
    kill_wait "$pid" "$secs"
  fi
  rm -f "$RUN_DIR/$name.pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

http_code() { curl -s -o /dev/null -m 5 -w '%{http_code}' "$@" || true; }

# ---------------------------------------------------------------- containerd

containerd_config() {
  cat <<EOF
# generated by scripts/services.sh
version = 2
root = "$CTD_DIR/root"
state = "$CTD_DIR/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]
oom_score = 0

[grpc]
  address = "$CTD_SOCK"
  uid = 0
  gid = 0

[ttrpc]
  address = ""

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "$CTD_DIR/opt"
EOF
}

containerd_ready() {
  [[ -S $CTD_SOCK ]] && ctr --address "$CTD_SOCK" version
}

start_containerd() {
  mkdir -p "$CTD_DIR"
  local cfg=$CTD_DIR/config.toml new
  new=$(containerd_config)
  if pid_of containerd >/dev/null; then
    if [[ $new == "$(cat "$cfg" 2>/dev/null)" ]]; then
      wait_until "$START_TIMEOUT" containerd containerd containerd_ready ||
        fail_with_log "$LOG_DIR/containerd.log" "containerd is running but does not answer"
      return 0
    fi
    log "containerd config changed, restarting docker and containerd"
    stop_docker_and_containerd
  fi
  printf '%s\n' "$new" >"$cfg"
  rm -f "$CTD_SOCK"
  start_daemon containerd containerd_ready containerd --config "$cfg"
}

# ---------------------------------------------------------------- dockerd

# daemon_json DIR: the daemon.json of the dockerd (manager or worker) whose state is in DIR.
daemon_json() {
  cat <<EOF
{
  "deprecated-key-path": "$1/key.json"
}
EOF
}

# auto: keep the driver a state dir already holds; else overlay2 when this kernel mounts overlayfs
# here (about 10x faster container starts than vfs), else vfs, which works everywhere.
pick_storage_driver() {
  [[ $STORAGE_DRIVER == auto ]] || return 0
  if [[ -d $DOCKER_DIR/data/vfs && ! -d $DOCKER_DIR/data/overlay2 ]]; then
    STORAGE_DRIVER=vfs
    return 0
  fi
  local t
  t=$(mktemp -d)
  mkdir -p "$t/l" "$t/u" "$t/w" "$t/m"
  if mount -t overlay overlay -o "lowerdir=$t/l,upperdir=$t/u,workdir=$t/w" "$t/m" 2>/dev/null; then
    umount "$t/m"
    STORAGE_DRIVER=overlay2
  else
    STORAGE_DRIVER=vfs
  fi
  rm -rf "$t"
}

# dockerd_args DIR HOST_URL NAMESPACE CGROUP_PARENT: the flags of a dockerd that keeps its state in
# DIR, listens on HOST_URL and runs its containers in containerd namespace NAMESPACE under
# CGROUP_PARENT; the rest (storage driver, no networking of its own, the shared containerd) is the
# same for the manager and the swarm worker.
dockerd_args() {
  local dir=$1 host=$2 namespace=$3 cgroup=$4
  printf '%s\n' \
    --config-file "$dir/daemon.json" \
    --storage-driver="$STORAGE_DRIVER" \
    --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
    --bridge=none --userland-proxy=false \
    --data-root "$dir/data" \
    --exec-root "$dir/exec" \
    -H "$host" \
    --pidfile "$dir/dockerd.pid" \
    --containerd "$CTD_SOCK" \
    --containerd-namespace "$namespace" \
    --containerd-plugins-namespace "$namespace-plugins" \
    --cgroup-parent "$cgroup" \
    --shutdown-timeout 5
}

docker_ready() { "$DOCKER_CLI" -H "$DOCKER_HOST_URL" version; }

# clear_stale_pidfile FILE: dockerd refuses to start while its --pidfile names a live process. After
# an unclean end (a killed session, a reboot with /tmp kept) the file outlives its dockerd, and the
# number in it can belong to any process by then: seen as a CI run whose own test runner had the
# old dockerd's pid. Called when our run record says no dockerd of ours runs: a dockerd started with
# this very pidfile that still lives is stopped; whatever else the file names is not ours.
clear_stale_pidfile() {
  local f=$1 pid cmd=
  [[ -e $f ]] || return 0
  pid=$(<"$f") || pid=
  if [[ $pid =~ ^[0-9]+$ ]] && alive "$pid"; then
    cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || cmd=
  fi
  if [[ $cmd == *"--pidfile $f "* ]]; then
    log "a dockerd with pidfile $f still runs (pid $pid) without our record of it; stopping it"
    kill_wait "$pid" 30
  elif [[ -n $pid ]]; then
    log "removing stale pidfile $f (pid $pid is gone or not a dockerd of ours)"
  fi
  rm -f "$f"
}

# run_dockerd NAME DESCRIPTION DIR SOCK HOST_URL NAMESPACE CGROUP_PARENT READY STOP: starts the
# dockerd NAME (flags: dockerd_args), or keeps the one running when its arguments and daemon.json
# are unchanged; when they changed, STOP stops it first.
run_dockerd() {
  local name=$1 what=$2 dir=$3 sock=$4 host=$5 namespace=$6 cgroup=$7 ready=$8 stop=$9
  local args_file=$dir/args new_args new_json
  mkdir -p "$dir"
  pick_storage_driver
  new_args=$(dockerd_args "$dir" "$host" "$namespace" "$cgroup")
  new_json=$(daemon_json "$dir")
  if pid_of "$name" >/dev/null; then
    if [[ $new_args == "$(cat "$args_file" 2>/dev/null)" && $new_json == "$(cat "$dir/daemon.json" 2>/dev/null)" ]]; then
      wait_until "$START_TIMEOUT" "$name" "$name" "$ready" ||
        fail_with_log "$LOG_DIR/$name.log" "$what is running but does not answer"
      return 0
    fi
    log "$what: arguments changed, restarting it"
    "$stop"
  fi
  printf '%s\n' "$new_json" >"$dir/daemon.json"
  printf '%s\n' "$new_args" >"$args_file"
  rm -f "$sock"
  clear_stale_pidfile "$dir/dockerd.pid"
  local -a args
  mapfile -t args <"$args_file"
  log "$what storage driver: $STORAGE_DRIVER"
  start_daemon "$name" "$ready" dockerd "${args[@]}"
}

start_dockerd() {
  run_dockerd dockerd dockerd "$DOCKER_DIR" "$DOCKER_SOCK" "$DOCKER_HOST_URL" "$CTD_NAMESPACE" "$CGROUP_PARENT" docker_ready stop_dockerd
}

# kill_orphan_containers DIR [WHOSE]: kill the containers whose dockerd (exec root DIR/exec) is gone
# (only needed after an unclean stop).
kill_orphan_containers() {
  local root id
  command -v runc >/dev/null || return 0
  for root in "$1"/exec/runtime-runc/*; do
    [[ -d $root ]] || continue
    for id in $(runc --root "$root" list -q 2>/dev/null); do
      log "killing leftover ${2:-}container $id"
      runc --root "$root" kill "$id" KILL 2>/dev/null || true
      sleep 0.2
      runc --root "$root" delete -f "$id" 2>/dev/null || true
    done
  done
}

# Kill any process left whose command line names our state dir (containerd
# shims of an unclean stop).
kill_leftover_processes() {
  local p cmd exe
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [[ $p == "$$" || $p == "$BASHPID" ]] && continue
    cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline") || continue
    [[ $cmd == *"$DIR/"* ]] || continue
    exe=${cmd%% *}
    case ${exe##*/} in
      containerd-shim* | containerd | dockerd | docker-registry | podman | conmon)
        log "killing leftover process $p: ${cmd:0:120}"
        kill -KILL "$p" 2>/dev/null || true
        ;;
    esac
  done
}

# Unmount whatever dockerd left mounted below the state dir (netns, data root).
unmount_leftovers() {
  local mp
  # mountinfo field 5 is the mount point (octal-escaped); deepest first
  awk -v d="$DIR/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo |
    awk '{ print length($0) " " $0 }' | sort -rn | cut -d' ' -f2- |
    while read -r mp; do
      mp=$(printf '%b' "$mp")
      umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || log "could not unmount $mp"
    done
}

stop_dockerd() {
  stop_named dockerd 30
  kill_orphan_containers "$DOCKER_DIR"
  rm -f "$DOCKER_SOCK"
}

stop_docker_and_containerd() {
  stop_dockerd
  stop_named containerd 15
  rm -f "$CTD_SOCK"
}

# ---------------------------------------------------------------- swarm (second dockerd as worker)

# The worker is a second dockerd on the same containerd (its own namespace), with its own data and
# exec roots, socket, key file and cgroup parent, and the manager's other flags (run_dockerd). Both
# nodes report this machine's hostname (dockerd has no hostname flag), so `start` labels them:
# dev.flowpack.node=manager|worker.
worker_ready() { "$DOCKER_CLI" -H "$WORKER_HOST_URL" version; }

start_worker_dockerd() {
  run_dockerd dockerd-worker "the worker dockerd" "$WORKER_DIR" "$WORKER_SOCK" "$WORKER_HOST_URL" "$CTD_NAMESPACE-w" "$CGROUP_PARENT-w" worker_ready stop_worker_dockerd
}

stop_worker_dockerd() {
  stop_named dockerd-worker 30
  kill_orphan_containers "$WORKER_DIR" "worker "
  rm -f "$WORKER_SOCK"
}

manager_cli() { "$DOCKER_CLI" -H "$DOCKER_HOST_URL" "$@"; }
worker_cli() { "$DOCKER_CLI" -H "$WORKER_HOST_URL" "$@"; }

# swarm_state manager_cli|worker_cli: inactive | pending | active | error | locked
swarm_state() { "$@" info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null; }

# True when the manager manages a swarm and the worker is one of its nodes, ready.
swarm_ready() {
  local worker_id
  [[ $(swarm_state manager_cli) == active && $(manager_cli info --format '{{.Swarm.ControlAvailable}}' 2>/dev/null) == true ]] || return 1
  [[ $(swarm_state worker_cli) == active ]] || return 1
  worker_id=$(worker_cli info --format '{{.Swarm.NodeID}}' 2>/dev/null) || return 1
  [[ $(manager_cli node inspect --format '{{.Status.State}}' "$worker_id" 2>/dev/null) == ready ]]
}

# Forms the swarm: `swarm init` on the manager, `swarm join` of the worker. A node left in another
# swarm (an unclean stop, changed addresses) leaves it first.
form_swarm() {
  local manager_addr worker_remote token id
  if [[ $(swarm_state manager_cli) == active ]]; then
    manager_addr=$(manager_cli info --format '{{.Swarm.NodeAddr}}' 2>/dev/null)
    if [[ $manager_addr != "$SWARM_MANAGER_ADDR" || $(manager_cli info --format '{{.Swarm.ControlAvailable}}') != true ]]; then
      log "the manager is in another swarm ($manager_addr); leaving it"
      manager_cli swarm leave --force >/dev/null
    fi
  elif [[ $(swarm_state manager_cli) != inactive ]]; then
    manager_cli swarm leave --force >/dev/null 2>&1 || true
  fi
  if [[ $(swarm_state manager_cli) != active ]]; then
    log "swarm init on $SWARM_MANAGER_ADDR:2377"
    manager_cli swarm init --advertise-addr "$SWARM_MANAGER_ADDR" --listen-addr "$SWARM_MANAGER_ADDR:2377" \
      --data-path-port "$SWARM_DATA_PORT" >/dev/null ||
      fail_with_log "$LOG_DIR/dockerd.log" "docker swarm init failed"
  fi
  if [[ $(swarm_state worker_cli) == active ]]; then
    worker_remote=$(worker_cli info --format '{{range .Swarm.RemoteManagers}}{{.Addr}} {{end}}' 2>/dev/null)
    if [[ " $worker_remote " != *" $SWARM_MANAGER_ADDR:2377 "* ]] || ! swarm_ready; then
      log "the worker is in another swarm; leaving it"
      worker_cli swarm leave --force >/dev/null 2>&1 || true
    fi
  elif [[ $(swarm_state worker_cli) != inactive ]]; then
    worker_cli swarm leave --force >/dev/null 2>&1 || true
  fi
  if [[ $(swarm_state worker_cli) != active ]]; then
    # worker nodes of an earlier join that are down now are removed, so `node ls` shows the two that run
    for id in $(manager_cli node ls --filter role=worker --format '{{.ID}} {{.Status}}' | awk '$2 == "Down" { print $1 }'); do
      manager_cli node rm --force "$id" >/dev/null 2>&1 || true
    done
    token=$(manager_cli swarm join-token -q worker)
    log "the worker joins from $SWARM_WORKER_ADDR:2377"
    worker_cli swarm join --listen-addr "$SWARM_WORKER_ADDR:2377" --advertise-addr "$SWARM_WORKER_ADDR" \
      --token "$token" "$SWARM_MANAGER_ADDR:2377" >/dev/null ||
      fail_with_log "$LOG_DIR/dockerd-worker.log" "docker swarm join failed"
  fi
  wait_until "$START_TIMEOUT" "swarm" "" swarm_ready || fail_with_log "$LOG_DIR/dockerd-worker.log" "the worker is not a ready swarm node"
  manager_cli node update --label-add dev.flowpack.node=manager "$(manager_cli info --format '{{.Swarm.NodeID}}')" >/dev/null
  manager_cli node update --label-add dev.flowpack.node=worker "$(worker_cli info --format '{{.Swarm.NodeID}}')" >/dev/null
}

# Leaves the swarm on both nodes (its services go with it) and stops the worker.
leave_swarm() {
  if worker_ready >/dev/null 2>&1 && [[ $(swarm_state worker_cli) != inactive ]]; then
    log "the worker leaves the swarm"
    worker_cli swarm leave --force >/dev/null 2>&1 || true
  fi
  if docker_ready >/dev/null 2>&1 && [[ $(swarm_state manager_cli) != inactive ]]; then
    log "the manager leaves the swarm"
    manager_cli swarm leave --force >/dev/null 2>&1 || true
  fi
  stop_worker_dockerd
}

swarm_env_pairs() {
  local manager_id worker_id
  manager_id=$(manager_cli info --format '{{.Swarm.NodeID}}' 2>/dev/null || true)
  worker_id=$(worker_cli info --format '{{.Swarm.NodeID}}' 2>/dev/null || true)
  printf '%s\t%s\n' \
    FLOWPACK_TEST_SWARM_WORKER_HOST "$WORKER_HOST_URL" \
    FLOWPACK_TEST_SWARM_MANAGER_NODE "$manager_id" \
    FLOWPACK_TEST_SWARM_WORKER_NODE "$worker_id" \
    FLOWPACK_TEST_SWARM_MANAGER_ADDR "$SWARM_MANAGER_ADDR" \
    FLOWPACK_TEST_SWARM_WORKER_ADDR "$SWARM_WORKER_ADDR"
}

swarm_status() {
  local rc=0 pid
  if pid=$(pid_of dockerd-worker) && worker_ready >/dev/null 2>&1; then
    printf '%-14s running  pid %s on %s\n' dockerd-worker "$pid" "$WORKER_HOST_URL"
  else
    printf '%-14s not answering on %s\n' dockerd-worker "$WORKER_HOST_URL"
    rc=3
  fi
  if swarm_ready; then
    printf '%-14s manager %s (%s), worker %s (%s): ready\n' swarm \
      "$(manager_cli info --format '{{.Swarm.NodeID}}')" "$SWARM_MANAGER_ADDR" \
      "$(worker_cli info --format '{{.Swarm.NodeID}}')" "$SWARM_WORKER_ADDR"
  else
    printf '%-14s not formed\n' swarm
    rc=3
  fi
  return $rc
}

# A one-replica service constrained to the worker pulls the base image from the plain registry by
# digest, prints, and is removed: no service, task or container is left on either node.
swarm_selftest() {
  local digest id out i
  digest=$(<"$DIR/base-image/pushed-digest")
  run manager_cli service create -d --name flowpack-selftest --replicas 1 --restart-condition none \
    --constraint node.labels.dev.flowpack.node==worker "$BASE_IMAGE_REF@$digest" node -e 'console.log("swarm ok")' >/dev/null
  for i in $(seq 1 150); do
    out=$(manager_cli service ps --format '{{.CurrentState}}' flowpack-selftest 2>/dev/null | head -1)
    [[ $out == Complete* || $out == Failed* || $out == Rejected* ]] && break
    sleep 0.2
  done
  manager_cli service logs --raw flowpack-selftest 2>/dev/null | grep -q 'swarm ok' || {
    manager_cli service ps --no-trunc flowpack-selftest >&2
    manager_cli service rm flowpack-selftest >/dev/null 2>&1
    die "swarm selftest: the service did not print its output ($out)"
  }
  run manager_cli service rm flowpack-selftest >/dev/null
  for i in $(seq 1 50); do
    id=$(worker_cli ps -aq --filter label=com.docker.swarm.service.name=flowpack-selftest)
    [[ -z $id ]] && break
    sleep 0.2
  done
  [[ -z $id ]] || die "swarm selftest: the service's container is still on the worker"
  printf '+ a service on the worker pulled %s by digest, ran and was removed: ok\n' "$BASE_IMAGE_REF" >&2
}

# ---------------------------------------------------------------- registries

random_hex() {
  if command -v openssl >/dev/null; then openssl rand -hex "$1"; else od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; fi
}

# registry_config DIR PORT [htpasswd]
registry_config() {
  local d=$1 port=$2 auth=${3:-}
  [[ -s $d/http-secret ]] || random_hex 16 >"$d/http-secret"
  cat <<EOF
# generated by scripts/services.sh
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $d/data
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  secret: $(<"$d/http-secret")
  headers:
    X-Content-Type-Options: [nosniff]
EOF
  if [[ -n $auth ]]; then
    cat <<EOF
auth:
  htpasswd:
    realm: flowpack-test
    path: $d/htpasswd
EOF
  fi
}

plain_registry_ready() { [[ $(http_code "http://127.0.0.1:$REGISTRY_PORT/v2/") == 200 ]]; }

auth_registry_ready() {
  [[ $(http_code "http://127.0.0.1:$AUTH_REGISTRY_PORT/v2/") == 401 ]] &&
    [[ $(http_code -u "$AUTH_USER:$(<"$AUTH_PASSWORD_FILE")" "http://127.0.0.1:$AUTH_REGISTRY_PORT/v2/") == 200 ]]
}

# start_registry NAME DIR PORT READY_FN [auth]
start_registry() {
  local name=$1 d=$2 port=$3 ready=$4 auth=${5:-} new
  mkdir -p "$d/data"
  new=$(registry_config "$d" "$port" "$auth")
  if pid_of "$name" >/dev/null; then
    if [[ $new == "$(cat "$d/config.yml" 2>/dev/null)" ]]; then
      wait_until "$START_TIMEOUT" "$name" "$name" "$ready" ||
        fail_with_log "$LOG_DIR/$name.log" "$name is running but not healthy"
      return 0
    fi
    log "$name config changed, restarting it"
    stop_named "$name" 10
  fi
  if port_open "$port"; then
    die "port 127.0.0.1:$port is already in use by another process (set FLOWPACK_REGISTRY_PORT / FLOWPACK_AUTH_REGISTRY_PORT)"
  fi
  printf '%s\n' "$new" >"$d/config.yml"
  log "starting $name on 127.0.0.1:$port"
  spawn "$name" "$LOG_DIR/$name.log" /usr/bin/docker-registry serve "$d/config.yml"
  wait_until "$START_TIMEOUT" "$name" "$name" "$ready" ||
    fail_with_log "$LOG_DIR/$name.log" "$name failed to start"
}

ensure_auth_files() {
  mkdir -p "$AUTH_DIR"
  if [[ ! -s $AUTH_PASSWORD_FILE ]]; then
    (umask 077 && random_hex 16 >"$AUTH_PASSWORD_FILE")
    rm -f "$AUTH_DIR/htpasswd"
  fi
  if [[ ! -s $AUTH_DIR/htpasswd ]]; then
    htpasswd -Bbn "$AUTH_USER" "$(<"$AUTH_PASSWORD_FILE")" | sed '/^$/d' >"$AUTH_DIR/htpasswd"
    # the registry loads htpasswd at startup only
    stop_named auth-registry 10
  fi
}

# ---------------------------------------------------------------- podman

# Podman 4.3 (Debian 12), rootful, with its own storage root, run root, temporary dir and config
# files under $PODMAN_DIR: nothing in /etc/containers, /var/lib/containers or /run/containers is
# used or written. vfs storage; containers run with --network none or host (no CNI/netavark setup).
# `default_ulimits = []`: the packaged default asks for a nofile limit this sandbox refuses.
podman_containers_conf() {
  cat <<EOF
# generated by scripts/services.sh
[containers]
default_ulimits = []
netns = "host"
log_driver = "k8s-file"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$PODMAN_DIR/events.log"
tmp_dir = "$PODMAN_DIR/tmp"
static_dir = "$PODMAN_DIR/root/libpod"
volume_path = "$PODMAN_DIR/root/volumes"
image_copy_tmp_dir = "$PODMAN_DIR/tmp"

[network]
network_config_dir = "$PODMAN_DIR/networks"
EOF
}

podman_storage_conf() {
  cat <<EOF
# generated by scripts/services.sh
[storage]
driver = "vfs"
graphroot = "$PODMAN_DIR/root"
runroot = "$PODMAN_DIR/runroot"
EOF
}

# The loopback registries speak plain http; short names resolve to docker.io (local images only here).
podman_registries_conf() {
  cat <<EOF
# generated by scripts/services.sh
unqualified-search-registries = ["docker.io"]
short-name-mode = "permissive"

[[registry]]
location = "127.0.0.1:$REGISTRY_PORT"
insecure = true

[[registry]]
location = "127.0.0.1:$AUTH_REGISTRY_PORT"
insecure = true
EOF
}

# podman on our private storage and config (an argv, so that spawn can exec it).
PODMAN_ARGV=(env CONTAINERS_CONF="$PODMAN_DIR/etc/containers.conf"
  CONTAINERS_STORAGE_CONF="$PODMAN_DIR/etc/storage.conf"
  CONTAINERS_REGISTRIES_CONF="$PODMAN_DIR/etc/registries.conf"
  TMPDIR="$PODMAN_DIR/tmp"
  podman --root "$PODMAN_DIR/root" --runroot "$PODMAN_DIR/runroot" --storage-driver vfs)
podman_cmd() { "${PODMAN_ARGV[@]}" "$@"; }

podman_ready() { [[ $(curl -s -m 5 --unix-socket "$PODMAN_SOCK" http://podman/_ping) == OK ]]; }

start_podman() {
  mkdir -p "$PODMAN_DIR/etc" "$PODMAN_DIR/tmp"
  local new
  new=$(podman_containers_conf; podman_storage_conf; podman_registries_conf)
  if pid_of podman >/dev/null; then
    if [[ $new == "$(cat "$PODMAN_DIR/etc/all" 2>/dev/null)" ]]; then
      wait_until "$START_TIMEOUT" podman podman podman_ready ||
        fail_with_log "$LOG_DIR/podman.log" "podman is running but does not answer"
      return 0
    fi
    log "podman config changed, restarting it"
    stop_podman
  fi
  podman_containers_conf >"$PODMAN_DIR/etc/containers.conf"
  podman_storage_conf >"$PODMAN_DIR/etc/storage.conf"
  podman_registries_conf >"$PODMAN_DIR/etc/registries.conf"
  printf '%s\n' "$new" >"$PODMAN_DIR/etc/all"
  rm -f "$PODMAN_SOCK"
  start_daemon podman podman_ready "${PODMAN_ARGV[@]}" system service --time=0 "$PODMAN_HOST_URL"
}

# Loads the base image from the OCI layout base-image.sh wrote, under the names the tests use.
# Skipped when the layout's index is the one loaded last time and the image is still there.
load_podman_base_image() {
  [[ -s $BASE_LAYOUT/index.json ]] || die "no OCI layout at $BASE_LAYOUT to load into podman"
  local stamp=$PODMAN_DIR/base-image.loaded want id
  want=$(sha256sum "$BASE_LAYOUT/index.json" | cut -c1-64)
  if [[ $want == "$(cat "$stamp" 2>/dev/null)" ]] && podman_cmd image exists "$BASE_IMAGE_REF" 2>/dev/null; then
    return 0
  fi
  log "loading the base image into podman"
  id=$(podman_cmd pull -q "oci:$BASE_LAYOUT:20" 2>>"$LOG_DIR/podman.log") ||
    fail_with_log "$LOG_DIR/podman.log" "podman could not load $BASE_LAYOUT"
  podman_cmd tag "$id" "$BASE_IMAGE_REF" flowpack-test/node:20 docker.io/library/node:20-bookworm-slim
  # the name the layout got (localhost/<its path>) is of no use
  podman_cmd untag "$id" "localhost$BASE_LAYOUT:latest" >/dev/null 2>&1 || true
  printf '%s\n' "$want" >"$stamp"
}

stop_podman() {
  stop_named podman 15
  rm -f "$PODMAN_SOCK"
}

# ---------------------------------------------------------------- env/json

env_pairs() {
  local digest=""
  [[ -s $DIR/base-image/pushed-digest ]] && digest=$(<"$DIR/base-image/pushed-digest")
  printf '%s\t%s\n' \
    FLOWPACK_SERVICES_DIR "$DIR" \
    DOCKER_HOST "$DOCKER_HOST_URL" \
    FLOWPACK_TEST_REGISTRY "127.0.0.1:$REGISTRY_PORT" \
    FLOWPACK_TEST_AUTH_REGISTRY "127.0.0.1:$AUTH_REGISTRY_PORT" \
    FLOWPACK_TEST_AUTH_USER "$AUTH_USER" \
    FLOWPACK_TEST_AUTH_PASSWORD "$(cat "$AUTH_PASSWORD_FILE" 2>/dev/null)" \
    FLOWPACK_TEST_BASE_IMAGE "$BASE_IMAGE_REF" \
    FLOWPACK_TEST_BASE_IMAGE_DIGEST "$digest" \
    FLOWPACK_TEST_BASE_LAYOUT "$BASE_LAYOUT"
  if [[ $SKIP_PODMAN != 1 ]]; then
    printf '%s\t%s\n' FLOWPACK_TEST_PODMAN_HOST "$PODMAN_HOST_URL"
  fi
  if [[ $SKIP_SWARM != 1 ]]; then
    swarm_env_pairs
  fi
}

print_env() {
  local k v
  while IFS=$'\t' read -r k v; do
    printf "export %s='%s'\n" "$k" "${v//\'/\'\\\'\'}"
  done < <(env_pairs)
}

json_escape() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  printf '%s' "$s"
}

print_json() {
  local k v first=1
  printf '{\n'
  while IFS=$'\t' read -r k v; do
    ((first)) || printf ',\n'
    first=0
    printf '  "%s": "%s"' "$k" "$(json_escape "$v")"
  done < <(env_pairs)
  printf '\n}\n'
}

write_env_files() {
  local tmp
  tmp=$(mktemp "$DIR/.services.json.XXXXXX")
  print_json >"$tmp"
  chmod 644 "$tmp"
  mv -f "$tmp" "$DIR/services.json"
  tmp=$(mktemp "$DIR/.services.env.XXXXXX")
  print_env >"$tmp"
  chmod 644 "$tmp"
  mv -f "$tmp" "$DIR/services.env"
}

# ---------------------------------------------------------------- commands

with_lock() {
  exec 9>"$DIR/.lock"
  flock -w 300 9 || die "could not get the lock on $DIR/.lock within 300s"
}

check_tools() {
  local t missing=()
  for t in containerd ctr dockerd runc curl htpasswd setsid flock "$DOCKER_CLI" /usr/bin/docker-registry; do
    command -v "$t" >/dev/null || missing+=("$t")
  done
  if [[ $SKIP_PODMAN != 1 ]]; then command -v podman >/dev/null || missing+=(podman); fi
  ((${#missing[@]} == 0)) || die "missing tools: ${missing[*]} (bash scripts/install-system-deps.sh, or FLOWPACK_SKIP_PODMAN=1)"
}

cmd_start() {
  local t0=$SECONDS
  check_tools
  with_lock
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  start_containerd
  start_dockerd
  start_registry registry "$REG_DIR" "$REGISTRY_PORT" plain_registry_ready
  ensure_auth_files
  start_registry auth-registry "$AUTH_DIR" "$AUTH_REGISTRY_PORT" auth_registry_ready auth
  if [[ ${FLOWPACK_SKIP_BASE_IMAGE:-0} != 1 ]]; then
    DOCKER_HOST=$DOCKER_HOST_URL FLOWPACK_DOCKER_CLI=$DOCKER_CLI FLOWPACK_SERVICES_LOCKED=1 \
      FLOWPACK_REGISTRY_PORT=$REGISTRY_PORT \
      bash "$SCRIPT_DIR/base-image.sh"
  fi
  if [[ $SKIP_PODMAN != 1 ]]; then
    local tp=$SECONDS
    start_podman
    [[ ${FLOWPACK_SKIP_BASE_IMAGE:-0} == 1 ]] || load_podman_base_image
    log "podman up in $((SECONDS - tp))s on $PODMAN_HOST_URL"
  fi
  if [[ $SKIP_SWARM != 1 ]]; then
    local ts=$SECONDS
    start_worker_dockerd
    form_swarm
    log "two-node swarm up in $((SECONDS - ts))s (manager $SWARM_MANAGER_ADDR, worker $SWARM_WORKER_ADDR on $WORKER_HOST_URL)"
  fi
  write_env_files
  log "all services up in $((SECONDS - t0))s; env: $DIR/services.env, json: $DIR/services.json"
}

cmd_stop() {
  with_lock
  mkdir -p "$RUN_DIR"
  stop_named auth-registry 10
  stop_named registry 10
  stop_podman
  leave_swarm
  stop_dockerd
  stop_named containerd 15
  rm -f "$CTD_SOCK"
  kill_leftover_processes
  unmount_leftovers
  rm -f "$DIR/services.json" "$DIR/services.env"
  log "stopped"
}

cmd_status() {
  local rc=0 pid name
  for name in containerd dockerd registry auth-registry; do
    if pid=$(pid_of "$name"); then
      printf '%-14s running  pid %s\n' "$name" "$pid"
    else
      printf '%-14s stopped\n' "$name"
      rc=3
    fi
  done
  if docker_ready >/dev/null 2>&1; then
    printf '%-14s %s (%s)\n' docker "$DOCKER_HOST_URL" \
      "$("$DOCKER_CLI" -H "$DOCKER_HOST_URL" version --format '{{.Server.Version}}' 2>/dev/null)"
  else
    printf '%-14s not answering on %s\n' docker "$DOCKER_HOST_URL"
    rc=3
  fi
  if [[ $SKIP_PODMAN != 1 ]]; then
    if pid=$(pid_of podman) && podman_ready; then
      printf '%-14s running  pid %s on %s\n' podman "$pid" "$PODMAN_HOST_URL"
    else
      printf '%-14s not answering on %s\n' podman "$PODMAN_HOST_URL"
      rc=3
    fi
  fi
  if plain_registry_ready; then
    printf '%-14s http://127.0.0.1:%s ok\n' registry "$REGISTRY_PORT"
  else
    printf '%-14s http://127.0.0.1:%s not answering\n' registry "$REGISTRY_PORT"
    rc=3
  fi
  if [[ -s $AUTH_PASSWORD_FILE ]] && auth_registry_ready; then
    printf '%-14s http://127.0.0.1:%s ok (basic auth, user %s)\n' auth-registry "$AUTH_REGISTRY_PORT" "$AUTH_USER"
  else
    printf '%-14s http://127.0.0.1:%s not answering\n' auth-registry "$AUTH_REGISTRY_PORT"
    rc=3
  fi
  if [[ -s $DIR/base-image/pushed-digest ]]; then
    printf '%-14s %s@%s\n' base-image "$BASE_IMAGE_REF" "$(<"$DIR/base-image/pushed-digest")"
  else
    printf '%-14s not built\n' base-image
  fi
  if [[ $SKIP_SWARM != 1 ]]; then
    swarm_status || rc=3
  fi
  printf '%-14s %s\n' state-dir "$DIR ($(du -sh "$DIR" 2>/dev/null | cut -f1))"
  return $rc
}

# Smoke test of everything: docker run, push/pull to both registries (auth
# login with the stored password), delete, skopeo inspect. Cleans up after
# itself and never touches ~/.docker.
cmd_selftest() {
  cmd_status >/dev/null || die "services are not all running (run: $0 start)"
  local cfg pw digest reg tag
  cfg=$(mktemp -d)
  # shellcheck disable=SC2064
  trap "rm -rf '$cfg'" EXIT
  pw=$(<"$AUTH_PASSWORD_FILE")
  export DOCKER_CONFIG=$cfg DOCKER_HOST=$DOCKER_HOST_URL
  run() { printf '+ %s\n' "$*" >&2; "$@"; }
  run "$DOCKER_CLI" run --rm --network none flowpack-test/node:20 node -e 'console.log(process.version)'
  run "$DOCKER_CLI" run --rm --network none node:20-bookworm-slim npm --version
  run "$DOCKER_CLI" run --rm --network host --user node flowpack-test/node:20 sh -c 'id && ls / >/dev/null'
  run skopeo inspect --tls-verify=false --no-creds "docker://$BASE_IMAGE_REF" >/dev/null
  run skopeo inspect "oci:$BASE_LAYOUT:20" >/dev/null

  printf '+ %s\n' "docker login -u $AUTH_USER --password-stdin 127.0.0.1:$AUTH_REGISTRY_PORT" >&2
  printf '%s' "$pw" | "$DOCKER_CLI" login -u "$AUTH_USER" --password-stdin "127.0.0.1:$AUTH_REGISTRY_PORT" 2>/dev/null
  for reg in "127.0.0.1:$REGISTRY_PORT" "127.0.0.1:$AUTH_REGISTRY_PORT"; do
    tag=$reg/selftest/node:20
    run "$DOCKER_CLI" tag flowpack-test/node:20 "$tag"
    run "$DOCKER_CLI" push "$tag"
    run "$DOCKER_CLI" rmi "$tag" >/dev/null
    run "$DOCKER_CLI" pull "$tag"
    run "$DOCKER_CLI" rmi "$tag" >/dev/null
  done
  printf '+ skopeo inspect --creds %s:*** docker://127.0.0.1:%s/selftest/node:20\n' "$AUTH_USER" "$AUTH_REGISTRY_PORT" >&2
  skopeo inspect --tls-verify=false --creds "$AUTH_USER:$pw" "docker://127.0.0.1:$AUTH_REGISTRY_PORT/selftest/node:20" >/dev/null
  if skopeo inspect --tls-verify=false --no-creds "docker://127.0.0.1:$AUTH_REGISTRY_PORT/selftest/node:20" >/dev/null 2>&1; then
    die "auth registry answered an anonymous request"
  fi
  printf '+ anonymous access to the auth registry is refused: ok\n' >&2
  run "$DOCKER_CLI" logout "127.0.0.1:$AUTH_REGISTRY_PORT"
  [[ $SKIP_SWARM == 1 ]] || swarm_selftest

  # delete the selftest manifests again (deletes are enabled)
  for reg in "$REGISTRY_PORT" "$AUTH_REGISTRY_PORT"; do
    local auth=()
    [[ $reg == "$AUTH_REGISTRY_PORT" ]] && auth=(-u "$AUTH_USER:$pw")
    digest=$(curl -s -m 10 -I "${auth[@]}" -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
      "http://127.0.0.1:$reg/v2/selftest/node/manifests/20" | tr -d '\r' |
      awk 'tolower($1) == "docker-content-digest:" { print $2 }')
    [[ -n $digest ]] || die "no selftest manifest on 127.0.0.1:$reg"
    [[ $(http_code -X DELETE "${auth[@]}" "http://127.0.0.1:$reg/v2/selftest/node/manifests/$digest") == 202 ]] ||
      die "DELETE of the selftest manifest on 127.0.0.1:$reg failed"
    printf '+ deleted 127.0.0.1:%s/selftest/node@%s\n' "$reg" "$digest" >&2
  done
  log "selftest ok"
}

case ${1:-} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  restart) cmd_stop && cmd_start ;;
  status) cmd_status ;;
  env) print_env ;;
  json) print_json ;;
  selftest) cmd_selftest ;;
  clean)
    cmd_stop
    # only ever remove a directory that looks like one of ours
    if [[ $DIR != / && -e $DIR/.lock && -d $DIR/run ]]; then
      log "removing $DIR"
      rm -rf "$DIR"
    else
      die "$DIR does not look like a flowpack services dir; not removing it"
    fi
    ;;
  *)
    echo "usage: $0 start|stop|restart|status|env|json|selftest|clean" >&2
    exit 2
    ;;
esac
