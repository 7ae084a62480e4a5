#!/bin/bash
# check-install.sh BUILD_DIR: installs that build with `cmake --install` into
# a scratch prefix and checks that what was installed is a working server:
# the version matches the project's, every installed example validates, and
# `kinora serve` from the prefix answers /healthz with that version. Used by
# scripts/test.sh on its packaging build (BUILD_TESTING=OFF).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/serve.sh
build=${1:?usage: scripts/check-install.sh BUILD_DIR}
prefix=$(mktemp -d)
trap 'kinora_stop; rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
bin=$prefix/bin/kinora
want=$(sed -n 's/^project(kinora VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
got=$("$bin" --version)
[ "$got" = "kinora $want" ] || { echo "install: --version says '$got', want 'kinora $want'"; exit 1; }
if ldd "$bin" | grep -q cmocka; then echo "install: the server links cmocka"; exit 1; fi
n=0
for f in "$prefix"/share/kinora/examples/*.json; do
  "$bin" validate "$f" >/dev/null || { echo "install: $f does not validate"; exit 1; }
  n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "install: no examples installed"; exit 1; }
[ -f "$prefix/share/doc/kinora/api.md" ] || { echo "install: docs missing"; exit 1; }
kinora_start "$bin" "$prefix" --workers 2
health=$(curl -fsS "http://127.0.0.1:$KINORA_PORT/healthz")
case "$health" in
  *"\"version\":\"$want\""*) ;;
  *) echo "install: /healthz answered $health"; exit 1 ;;
esac
echo "install: ok (kinora $want, $n examples, /healthz on the installed server)"
