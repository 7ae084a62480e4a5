#!/bin/bash
# Builds the Kinora image from the Dockerfile and checks that the image works:
# starts the server in a container, waits for /healthz, renders
# examples/redsquare.json through the HTTP API, downloads the MP4 and checks
# it with ffprobe (codec, size, frame count), then renders a short 1920x1080
# job under the engine's default /dev/shm (64 MB; no --shm-size on purpose).
#
# Engine: docker where `docker info` answers, podman otherwise (podman, runc
# and debootstrap are installed with apt-get when missing). With podman and
# no local debian:bookworm image (no registry needs to be reachable), one is
# made once with debootstrap from the host's configured Debian mirror and
# imported as docker.io/library/debian:bookworm. Podman runs with runc,
# cgroupfs and a containers.conf of this script's own (build-container/),
# not the system's.
#
# Everything the script writes stays in build-container/ (git- and
# docker-ignored). All HTTP traffic is to 127.0.0.1: the container shares the
# host network and the server binds loopback on a free port.
#
# The last line is `container: PASS`, `container: FAIL: <why>` (exit 1), or
# `container: SKIPPED because <why>` (exit 0; only when no engine can be
# installed). Environment:
#   KINORA_CONTAINER_IMAGE          image tag (default localhost/kinora:container-test)
#   KINORA_CONTAINER_BUILD_TIMEOUT  seconds the image build may take (default 3600)
#   KINORA_CONTAINER_JOB_TIMEOUT    seconds each render job may take (default 300)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$root/build-container
mkdir -p "$work"

image=${KINORA_CONTAINER_IMAGE:-localhost/kinora:container-test}
build_timeout=${KINORA_CONTAINER_BUILD_TIMEOUT:-3600}
job_timeout=${KINORA_CONTAINER_JOB_TIMEOUT:-300}
name=kinora-container-test-$$
base=docker.io/library/debian:bookworm

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi

finished=""     # set once the last line has been printed
started=""      # set once a container may exist
engine=""

log() { echo "container: $*"; }

cleanup() {
  if [ -n "$started" ]; then
    started=""
    eng rm -f -v "$name" >/dev/null 2>&1 || true
  fi
}

fail() {
  if [ -n "$started" ]; then
    echo "---- container logs (last 40 lines) ----"
    eng logs "$name" 2>&1 | tail -n 40 || true
    echo "----"
  fi
  cleanup
  finished=1
  echo "container: FAIL: $*"
  exit 1
}

skip() {
  cleanup
  finished=1
  echo "container: SKIPPED because $*"
  exit 0
}

on_exit() {
  local rc=$?
  cleanup
  if [ -z "$finished" ]; then
    echo "container: FAIL: unexpected error (exit status $rc; see the output above)"
    exit $((rc == 0 ? 1 : rc))
  fi
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# eng ARGS...: the chosen engine, with the flags it needs here (eng_cmd is
# set once the engine is chosen).
eng_cmd=()
eng() { [ ${#eng_cmd[@]} -gt 0 ] || return 1; "${eng_cmd[@]}" "$@"; }

for tool in curl ffprobe python3; do
  command -v "$tool" >/dev/null || fail "$tool is needed on the host (scripts/install-deps.sh installs it)"
done

# ---- engine -------------------------------------------------------------
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  engine=docker
  eng_cmd=(docker)
else
  missing=""
  for p in podman runc debootstrap; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    command -v apt-get >/dev/null || skip "no docker engine answers and apt-get is not there to install$missing"
    if [ -n "$SUDO" ] && ! sudo -n true 2>/dev/null; then
      skip "no docker engine answers, and installing$missing needs root (sudo asks for a password)"
    fi
    log "no docker engine answers; installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086
    if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends $missing; } \
        > "$work/apt.log" 2>&1; then
      tail -n 20 "$work/apt.log"
      skip "no docker engine answers and apt-get could not install$missing (log: build-container/apt.log)"
    fi
  fi
  engine=podman
  # default_ulimits = []: the packaged default asks for nofile limits that the
  # runtime here is not allowed to set.
  cat > "$work/containers.conf" <<'EOF'
[containers]
default_ulimits = []
EOF
  eng_cmd=(env CONTAINERS_CONF="$work/containers.conf" podman --runtime runc --cgroup-manager cgroupfs)
  if [ -n "$SUDO" ]; then eng_cmd=(sudo "${eng_cmd[@]}"); fi
fi
log "engine: $engine ($(eng --version 2>/dev/null | head -n 1))"

# ---- base image -----------------------------------------------------------
base_exists() {
  if [ "$engine" = podman ]; then eng image exists "$base"; else eng image inspect "$base" >/dev/null 2>&1; fi
}

debian_mirror() {  # the first bookworm (non-security) mirror in the host's apt sources
  local m
  m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
        awk '/^URIs:/ && /debian/ && !/security/ {print $2; exit}
             /^deb / && /bookworm/ && !/security/ {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' |
        head -n 1)
  echo "${m:-http://deb.debian.org/debian}"
}

make_base() {
  command -v debootstrap >/dev/null || {
    $SUDO apt-get install -y -qq --no-install-recommends debootstrap > "$work/apt.log" 2>&1 ||
      fail "no $base image and debootstrap could not be installed"
  }
  local mirror rootfs t0
  mirror=$(debian_mirror)
  rootfs=$work/rootfs
  log "no $base image here; making one with debootstrap from $mirror (once; it is kept)"
  t0=$SECONDS
  $SUDO rm -rf "$rootfs"
  if ! $SUDO debootstrap --variant=minbase bookworm "$rootfs" "$mirror" > "$work/debootstrap.log" 2>&1; then
    tail -n 20 "$work/debootstrap.log"
    $SUDO rm -rf "$rootfs"
    fail "debootstrap of bookworm from $mirror failed (log: build-container/debootstrap.log)"
  fi
  $SUDO rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  if ! $SUDO tar -C "$rootfs" -c . | eng import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["bash"]' - "$base" > "$work/import.log" 2>&1; then
    cat "$work/import.log"
    $SUDO rm -rf "$rootfs"
    fail "importing the debootstrapped root as $base failed"
  fi
  $SUDO rm -rf "$rootfs"
  log "made $base in $((SECONDS - t0)) s"
}

if ! base_exists; then
  if [ "$engine" = docker ]; then
    docker pull "$base" >/dev/null 2>&1 || make_base
  else
    make_base
  fi
fi

# ---- image ------------------------------------------------------------------
build_args=(build -t "$image" -f Dockerfile)
if [ "$engine" = podman ]; then
  # The base is local; nothing else is pulled. RUN steps fetch Debian packages
  # over the host's network.
  build_args+=(--network host --pull=never)
fi
log "building $image (log: build-container/build.log)"
t0=$SECONDS
if ! timeout "$build_timeout" "${eng_cmd[@]}" "${build_args[@]}" . > "$work/build.log" 2>&1; then
  tail -n 40 "$work/build.log"
  fail "image build failed or passed ${build_timeout} s, after $((SECONDS - t0)) s (log: build-container/build.log)"
fi
log "image built in $((SECONDS - t0)) s"

# ---- run ----------------------------------------------------------------------
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The container shares the host network (no port mapping, no bridge to set
# up); the server binds 127.0.0.1 on a port nothing listens on. A port taken
# between the check and the bind makes the server exit; then try another.
url=""
for _ in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 40000))
  port_taken "$port" && continue
  started=1
  eng run -d --name "$name" --network host "$image" \
    serve --port "$port" --bind 127.0.0.1 --data /var/lib/kinora/data --workers 16 > "$work/run.log" 2>&1 ||
    { cat "$work/run.log"; fail "the container did not start"; }
  # --retry-connrefused: the server needs a moment to open its store and pool.
  if curl -fsS --connect-timeout 2 --max-time 60 --retry 30 --retry-delay 1 --retry-connrefused \
      -o "$work/healthz.txt" "http://127.0.0.1:$port/healthz" 2> "$work/healthz.err"; then
    url=http://127.0.0.1:$port
    break
  fi
  if eng logs "$name" 2>&1 | grep -qi 'address already in use'; then
    eng rm -f -v "$name" >/dev/null 2>&1 || true
    started=""
    continue
  fi
  cat "$work/healthz.err"
  fail "GET /healthz on port $port did not answer 2xx within 60 s"
done
[ -n "$url" ] || fail "found no free loopback port to run the server on"
log "server up at $url (healthz: $(head -c 200 "$work/healthz.txt"))"
log "/dev/shm in the container: $(eng exec "$name" df -h /dev/shm 2>/dev/null | awk 'NR == 2 {print $2 " total, " $4 " free"}')"

# json_get FILE EXPR: a field of the JSON document in FILE (EXPR indexes `d`).
json_get() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# render LABEL JOBFILE: submits the job, follows its events until it ends,
# downloads the video and checks codec, size and frame count against the job.
render() {
  local label=$1 job=$2 out=$work/$1 code id status
  local want_w want_h want_frames
  want_w=$(json_get "$job" 'd["width"]')
  want_h=$(json_get "$job" 'd["height"]')
  want_frames=$(json_get "$job" 'round(d["fps"] * d["duration"])')
  rm -f "$out".*

  code=$(curl -sS --max-time 60 -o "$out.post.json" -w '%{http_code}' \
           -H 'Content-Type: application/json' --data-binary @"$job" "$url/v1/jobs") ||
    fail "$label: POST /v1/jobs did not answer"
  [ "$code" = 201 ] || fail "$label: POST /v1/jobs answered $code: $(head -c 500 "$out.post.json")"
  id=$(json_get "$out.post.json" 'd["id"]') || fail "$label: no id in the POST answer: $(head -c 500 "$out.post.json")"
  log "$label: job $id submitted (${want_w}x${want_h}, $want_frames frames)"

  # The event stream ends by itself after the job's final status event.
  local t0=$SECONDS rc=0
  curl -sS -N --max-time "$job_timeout" -o "$out.events" "$url/v1/jobs/$id/events" || rc=$?
  [ "$rc" = 0 ] || [ "$rc" = 28 ] || fail "$label: GET /v1/jobs/$id/events failed (curl exit $rc)"
  code=$(curl -sS --max-time 30 -o "$out.job.json" -w '%{http_code}' "$url/v1/jobs/$id") ||
    fail "$label: GET /v1/jobs/$id did not answer"
  [ "$code" = 200 ] || fail "$label: GET /v1/jobs/$id answered $code"
  status=$(json_get "$out.job.json" 'd["status"]')
  if [ "$status" != succeeded ]; then
    [ "$rc" = 28 ] && fail "$label: job $id still '$status' after ${job_timeout} s"
    fail "$label: job $id ended '$status': $(json_get "$out.job.json" 'json.dumps(d.get("error"))')"
  fi
  log "$label: job $id succeeded in $((SECONDS - t0)) s ($(grep -c '^event: progress' "$out.events" || true) progress events)"

  code=$(curl -sS --max-time 120 -o "$out.mp4" -w '%{http_code}' "$url/v1/jobs/$id/video") ||
    fail "$label: GET /v1/jobs/$id/video did not answer"
  [ "$code" = 200 ] || fail "$label: GET /v1/jobs/$id/video answered $code"
  local probe
  probe=$(ffprobe -v error -select_streams v:0 -count_frames \
            -show_entries stream=codec_name,width,height,nb_read_frames -of csv=p=0 "$out.mp4") ||
    fail "$label: ffprobe cannot read the downloaded video"
  [ "$probe" = "h264,$want_w,$want_h,$want_frames" ] ||
    fail "$label: video is '$probe' (codec,width,height,frames), expected 'h264,$want_w,$want_h,$want_frames'"
  log "$label: video $(stat -c %s "$out.mp4") bytes, ffprobe: $probe"
}

render redsquare examples/redsquare.json

# A short 1920x1080 job: the frame ring has to fit the engine's default
# /dev/shm (64 MB), which the container keeps (no --shm-size). The server
# runs 16 workers, so it asks for 34 slots (2 x workers + 2) on any host:
# about 106 MB at 1080p, more than /dev/shm holds, and the ring must take the
# slots that fit. 60 frames, so the frame count does not cap the slots.
cat > "$work/hd.json" <<'JSON'
{
  "width": 1920,
  "height": 1080,
  "fps": 30,
  "duration": 2,
  "background": "#102030",
  "elements": [
    {"id": "sq", "type": "rect", "x": 0, "y": 440, "width": 200, "height": 200, "fill": "red"}
  ],
  "timeline": {"tween": {"sq.x": [0, 1720]}, "duration": 2, "easing": "smootheststep"},
  "output": {"format": "mp4", "codec": "h264", "quality": 23}
}
JSON
render hd1080 "$work/hd.json"
shm=$(eng logs "$name" 2>&1 | grep -m1 'frame ring: /dev/shm has' || true)
[ -n "$shm" ] || fail "hd1080: the server never sized its ring down for the container's /dev/shm"
log "hd1080: ${shm#*INFO  }"

cleanup
finished=1
echo "container: PASS"
