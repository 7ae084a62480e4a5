#!/bin/sh
# The one place Kinora's system packages are installed: used by the README
# commands, .ci/run and the Dockerfile. Pass --runtime to install only what
# the built server needs at run time (the Dockerfile's final stage), --bench
# to add what bench/run.sh compares against (matplotlib, bc).
#
# Fonts (job-v1 section 3: Latin, right-to-left, CJK and colour emoji), in
# both lists because tests/test_text.c checks them and the server draws
# with them; the smallest bookworm packages that cover each script:
#   fonts-dejavu-core       ~3 MB   Latin, Greek, Cyrillic, Hebrew, Arabic
#                                   (ar, fa, ug; DejaVu Sans is the default)
#   fonts-wqy-microhei      ~5 MB   Chinese (simplified and traditional),
#                                   Japanese kana and kanji, Korean Hangul;
#                                   fonts-noto-cjk would be ~91 MB,
#                                   fonts-wqy-zenhei ~16 MB for the same
#   fonts-noto-color-emoji  ~11 MB  colour emoji (CBDT bitmaps, which Cairo
#                                   1.16 draws in colour on image surfaces)
set -eu
runtime_pkgs="libcairo2 libpango-1.0-0 libpangocairo-1.0-0 libavcodec59 libavformat59
  libavutil57 libmicrohttpd12 libjansson4 libsqlite3-0 libyuv0
  fonts-dejavu-core fonts-wqy-microhei fonts-noto-color-emoji ca-certificates curl"
build_pkgs="build-essential cmake pkg-config clang libclang-rt-14-dev
  libcairo2-dev libpango1.0-dev libavcodec-dev libavformat-dev libavutil-dev
  libmicrohttpd-dev libjansson-dev libsqlite3-dev libcmocka-dev libyuv-dev
  ffmpeg curl python3 fonts-dejavu-core fonts-wqy-microhei fonts-noto-color-emoji
  librsvg2-bin"
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
