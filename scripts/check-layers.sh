#!/bin/sh
# Fails when a source file includes a header from a higher layer, or from
# another folder of its own layer: dependencies point one way, down this list
# (docs/architecture.md explains each room). Tests and benchmarks may include
# any layer. Run by scripts/test.sh; prints every offending include.
# usage: scripts/check-layers.sh [ROOT]   (default: this repository)
#        scripts/check-layers.sh --self-test   (plants upward includes, far
#        and to the next layer, and an unqualified one in a scratch tree and
#        expects each to fail)
# Every folder has a rank of its own, so an include that is not strictly
# downward fails, and no folder cycle can form.
#
#   0 common    errors, log, limits, vocabulary, arena, version
#   1 lang      expression, path, easing, colour and colormap compilers
#   2 media     decoding images (and later video, audio, fonts)
#   3 encode    libav encoders and the GIF palette
#   4 store     the SQLite job store
#   5 doc       the job document: JSON reader and compiler
#   6 render    evaluate a frame and draw it
#   7 pipeline  frame ring, worker pool, job run, preview child, scheduler
#   8 api       the HTTP API: routes, handlers, JSON resources
#   9 server    the daemon: startup and shutdown
#  10 cli       the `kinora` command line
set -eu
if [ "${1:-}" = --self-test ]; then
  self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
  t=$(mktemp -d)
  trap 'rm -rf "$t"' EXIT
  mkdir -p "$t/common" "$t/doc" "$t/api" "$t/render" "$t/encode" "$t/lang"
  echo '#include "common/err.h"' > "$t/doc/ok.c"
  "$self" "$t" >/dev/null || { echo "layers self-test: a downward include was refused"; exit 1; }
  for bad in 'common/up.c:#include "api/http.h"' 'render/up.c:#include "pipeline/run.h"' \
             'encode/next.c:#include "store/store.h"' 'lang/bare.c:#include "expr.h"'; do
    f=${bad%%:*}
    printf '%s\n' "${bad#*:}" > "$t/$f"
    if "$self" "$t" >/dev/null; then echo "layers self-test: $f (${bad#*:}) was not caught"; exit 1; fi
    rm "$t/$f"
  done
  echo "layers self-test: ok (upward and unqualified includes are caught)"
  exit 0
fi
cd "${1:-$(dirname "$0")/..}"
layers="common lang media encode store doc render pipeline api server cli"
rank() {
  i=0
  for l in $layers; do
    [ "$l" = "$1" ] && { echo $i; return; }
    i=$((i + 1))
  done
  echo -1
}
bad=0
for dir in $layers; do
  r=$(rank "$dir")
  for f in "$dir"/*.c "$dir"/*.h; do
    [ -e "$f" ] || continue
    for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
      case "$inc" in */*) ;; *) echo "$f: includes \"$inc\": use the folder-qualified name"; bad=1; continue ;; esac
      to=${inc%%/*}
      [ "$to" = "$dir" ] && continue
      tr=$(rank "$to")
      if [ "$tr" -lt 0 ]; then
        echo "$f: includes \"$inc\" from \"$to\", which is not a layer (add it to scripts/check-layers.sh)"
        bad=1
      elif [ "$tr" -ge "$r" ]; then
        echo "$f: includes \"$inc\": $dir (layer $r) may only include lower layers, and $to is layer $tr"
        bad=1
      fi
    done
  done
done
# A folder of sources that is not a layer would escape the check.
for d in */; do
  d=${d%/}
  case " $layers tests bench docs examples scripts api " in *" $d "*) continue ;; esac
  if ls "$d"/*.c "$d"/*.h >/dev/null 2>&1; then
    echo "$d/: holds C sources but is not a layer in scripts/check-layers.sh"
    bad=1
  fi
done
if [ "$bad" != 0 ]; then
  echo "layers: FAILED (see above)"
  exit 1
fi
echo "layers: ok ($layers)"
