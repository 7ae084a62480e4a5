#!/bin/sh
# The one place Kinora's system packages are installed: used by the README
# commands, .ci/run and the Dockerfile. Pass --runtime to install only what
# the built server needs at run time (the Dockerfile's final stage), --bench
# to add what bench/run.sh compares against (matplotlib, bc).
set -eu
runtime_pkgs="libcairo2 libpango-1.0-0 libpangocairo-1.0-0 libavcodec59 libavformat59
  libavutil57 libmicrohttpd12 libjansson4 libsqlite3-0 libyuv0
  fonts-dejavu-core ca-certificates curl"
build_pkgs="build-essential cmake pkg-config clang
  libcairo2-dev libpango1.0-dev libavcodec-dev libavformat-dev libavutil-dev
  libmicrohttpd-dev libjansson-dev libsqlite3-dev libcmocka-dev libyuv-dev
  ffmpeg curl python3 fonts-dejavu-core librsvg2-bin"
bench_pkgs="python3-matplotlib python3-numpy bc ffmpeg"
case "${1:-}" in
  --runtime) pkgs=$runtime_pkgs ;;
  --bench) pkgs="$runtime_pkgs $build_pkgs $bench_pkgs" ;;
  *) pkgs="$runtime_pkgs $build_pkgs" ;;
esac
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
