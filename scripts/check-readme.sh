#!/bin/bash
# check-readme.sh BUILD_DIR: runs the README's "Quickstart with curl" block as
# a newcomer would paste it, against a server from BUILD_DIR on a free port
# (only the KINORA= line is changed to point there), then checks what it
# left: the job succeeded, redsquare.mp4 is the 640x480, 300-frame video,
# frame.png is a PNG, and the job is gone after the DELETE.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/serve.sh
root=$PWD
bin=$root/${1:?usage: scripts/check-readme.sh BUILD_DIR}/kinora
tmp=$(mktemp -d)
trap 'kinora_stop; rm -rf "$tmp"' EXIT
kinora_start "$bin" "$tmp" --workers 2
block=$(awk '/^## Quickstart with curl/ {q = 1; next} q && /^```sh/ {b = 1; next} b && /^```/ {exit} b' README.md)
grep -q '^KINORA=localhost:8080$' <<<"$block" || { echo "readme: the quickstart no longer starts with KINORA=localhost:8080"; exit 1; }
block=$(sed "s|^KINORA=localhost:8080\$|KINORA=127.0.0.1:$KINORA_PORT|" <<<"$block")
mkdir "$tmp/work"
ln -s "$root/examples" "$tmp/work/examples"
(cd "$tmp/work" && bash -euo pipefail -c "$block") >"$tmp/out.txt" 2>&1 || {
  cat "$tmp/out.txt"; echo "readme: the quickstart failed as pasted"; exit 1; }
id=$(sed -n 's/^job \(j_[A-Za-z0-9]*\)$/\1/p' "$tmp/out.txt")
[ -n "$id" ] || { cat "$tmp/out.txt"; echo "readme: no job id printed"; exit 1; }
grep -q '"status":"succeeded"' "$tmp/out.txt" || { cat "$tmp/out.txt"; echo "readme: the event stream did not end in succeeded"; exit 1; }
probe=$(ffprobe -v error -count_frames -select_streams v:0 \
  -show_entries stream=codec_name,width,height,nb_read_frames -of csv=p=0 "$tmp/work/redsquare.mp4")
[ "$probe" = "h264,640,480,300" ] || { echo "readme: redsquare.mp4 is '$probe', want h264,640,480,300"; exit 1; }
[ "$(head -c 4 "$tmp/work/frame.png" | od -An -tx1 | tr -d ' ')" = 89504e47 ] || { echo "readme: frame.png is not a PNG"; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$KINORA_PORT/v1/jobs/$id")
[ "$code" = 404 ] || { echo "readme: the job is still there after DELETE ($code)"; exit 1; }
echo "readme: ok (the quickstart ran as pasted: job $id, video, preview, delete)"
