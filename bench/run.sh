#!/bin/bash
# Kinora's benchmark: one run reports the ratios the issues ask for.
#  1. POST -> succeeded for a 1280x720, 300-frame plot-like job (libx264
#     medium, CRF 23) against the ffmpeg CLI encoding the same frames from raw
#     BGRA (bench/encoder_limit.sh) and against matplotlib making
#     the same animation (bench/mpl_wave.py); RUNS alternating
#     rounds, medians.
#  2. Peak memory (PSS summed over the server, pool and workers) and bytes
#     written by the workers during a 1920x1080, 3000-frame job at preset
#     ultrafast.
# usage: bench/run.sh   (RUNS=3, MEM=1 to include the memory run)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
RUNS=${RUNS:-3}
scripts/install-deps.sh --bench >/dev/null
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
out=$root/bench/out
rm -rf "$out"; mkdir -p "$out"
/usr/bin/python3 bench/make_wave_job.py --frames 300 --size 1280x720 --preset medium --crf 23 > "$out/wave.json"
/usr/bin/python3 bench/make_wave_job.py --expr --frames 300 --size 1280x720 --preset medium --crf 23 > "$out/wave_expr.json"
/usr/bin/python3 bench/make_wave_job.py --plot --frames 300 --size 1280x720 --preset medium --crf 23 > "$out/wave_plot.json"

. scripts/lib/serve.sh
kinora_start build/kinora "$out"
srv=$KINORA_PID
trap kinora_stop EXIT
port=$KINORA_PORT
base="http://127.0.0.1:$port"

# POSTs a job and waits for it on its event stream (one connection, no
# polling processes competing with the encoder for CPU); prints the job id
# and the seconds from POST to succeeded.
run_job() {
  local t0 id st t1
  t0=$(date +%s.%N)
  id=$(curl -sf --data-binary @"$1" "$base/v1/jobs" | sed -E 's/.*"id":"([^"]+)".*/\1/')
  st=$(curl -sfN "$base/v1/jobs/$id/events" | grep -m1 -oE '"status":"(succeeded|failed|canceled)"' || true)
  t1=$(date +%s.%N)
  case $st in *succeeded*) ;; *) echo "job $id: $st" >&2; exit 1 ;; esac
  echo "$id $(echo "$t1 - $t0" | bc -l)"
}
# The encoder alone: the ffmpeg CLI encoding VIDEO's frames from raw I420
# (no colour conversion to do), the floor under any pipeline that must run
# x264 at these settings; prints seconds.
x264_only() {
  local v=$1 tmp w h fps s e
  read -r w h fps < <(ffprobe -v error -select_streams v:0 -show_entries stream=width,height,r_frame_rate \
    -of csv=p=0 "$v" | tr ',' ' ')
  tmp=$(mktemp -d /dev/shm/x264.XXXXXX 2>/dev/null || mktemp -d)
  ffmpeg -v error -i "$v" -f rawvideo -pix_fmt yuv420p -y "$tmp/f.yuv"
  s=$(date +%s.%N)
  ffmpeg -v error -f rawvideo -pix_fmt yuv420p -s "${w}x${h}" -r "$fps" -i "$tmp/f.yuv" \
    -c:v libx264 -preset medium -crf 23 -movflags +faststart -y "$tmp/out.mp4"
  e=$(date +%s.%N)
  rm -rf "$tmp"
  echo "$e - $s" | bc -l
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

: > "$out/kinora.txt"; : > "$out/kexpr.txt"; : > "$out/kplot.txt"; : > "$out/ffmpeg.txt"; : > "$out/mpl.txt"
for r in $(seq "$RUNS"); do
  read -r id secs < <(run_job "$out/wave.json")
  echo "$secs" >> "$out/kinora.txt"
  curl -sf -o "$out/wave.mp4" "$base/v1/jobs/$id/video"
  curl -sf -X DELETE "$base/v1/jobs/$id" >/dev/null
  read -r id2 secs2 < <(run_job "$out/wave_expr.json")
  echo "$secs2" >> "$out/kexpr.txt"
  curl -sf -X DELETE "$base/v1/jobs/$id2" >/dev/null
  read -r id3 secs3 < <(run_job "$out/wave_plot.json")
  echo "$secs3" >> "$out/kplot.txt"
  curl -sf -X DELETE "$base/v1/jobs/$id3" >/dev/null
  bash "$root/bench/encoder_limit.sh" "$out/wave.mp4" medium 23 | sed -E 's/.* in ([0-9.]+) s.*/\1/' >> "$out/ffmpeg.txt"
  (cd "$out" && /usr/bin/python3 "$root/bench/mpl_wave.py" --frames 300 --size 1280x720 --preset medium --crf 23 \
     --out "$out/mpl.mp4") | sed -E 's/.* in ([0-9.]+) s.*/\1/' >> "$out/mpl.txt"
  echo "round $r: kinora $(tail -1 "$out/kinora.txt") s (expression job $(tail -1 "$out/kexpr.txt") s, plot job $(tail -1 "$out/kplot.txt") s), ffmpeg $(tail -1 "$out/ffmpeg.txt") s, matplotlib $(tail -1 "$out/mpl.txt") s"
done
k=$(median < "$out/kinora.txt"); f=$(median < "$out/ffmpeg.txt"); m=$(median < "$out/mpl.txt")
# Per-round ratios pair runs taken seconds apart, so slow drifts of a shared
# machine cancel; their median is the headline, the ratio of medians a check.
rk=$(paste "$out/kinora.txt" "$out/ffmpeg.txt" | awk '{print $1 / $2}' | median)
rm_=$(paste "$out/mpl.txt" "$out/kinora.txt" | awk '{print $1 / $2}' | median)
echo "== 1280x720, 300 frames, libx264 medium CRF 23 ($RUNS alternating rounds)"
printf 'kinora POST->succeeded / ffmpeg CLI encode-only: %.2fx median of per-round ratios, %.2fx ratio of medians (goal <= 1.0)\n' \
  "$rk" "$(echo "$k / $f" | bc -l)"
printf 'matplotlib / kinora:                            %.1fx median of per-round ratios, %.1fx ratio of medians (goal >= 5)\n' \
  "$rm_" "$(echo "$m / $k" | bc -l)"
ke=$(median < "$out/kexpr.txt")
rke=$(paste "$out/kexpr.txt" "$out/ffmpeg.txt" | awk '{print $1 / $2}' | median)
rme=$(paste "$out/mpl.txt" "$out/kexpr.txt" | awk '{print $1 / $2}' | median)
printf 'same animation with an expression (3 kB job): %.2fx the ffmpeg CLI, matplotlib %.1fx slower (medians of per-round ratios)\n' "$rke" "$rme"
kp=$(median < "$out/kplot.txt")
rkp=$(paste "$out/kplot.txt" "$out/ffmpeg.txt" | awk '{print $1 / $2}' | median)
rmp=$(paste "$out/mpl.txt" "$out/kplot.txt" | awk '{print $1 / $2}' | median)
printf 'same chart as a plot element: %.2fx the ffmpeg CLI, matplotlib %.1fx slower (medians of per-round ratios)\n' "$rkp" "$rmp"
printf 'medians: kinora %.2f s, expression job %.2f s, plot job %.2f s, ffmpeg %.2f s, matplotlib %.2f s\n' "$k" "$ke" "$kp" "$f" "$m"
xo=$(x264_only "$out/wave.mp4")
printf 'x264 alone on the same frames as I420 (no conversion), once: %.2f s; kinora (median) is %.2fx of it\n' "$xo" "$(echo "$k / $xo" | bc -l)"
printf 'render cost of one 1080p plot frame in one worker (examples/mpl_line.json, goal < 5 ms): '
build/render_cost examples/mpl_line.json 200 | sed -E 's/.*median draw ([0-9.]+) ms, convert ([0-9.]+) ms.*/draw \1 ms + convert \2 ms/' 

if [ "${MPL_LINE:-0}" = 1 ]; then
  # pympanim's example, 1080 frames at 1920x1080: one round (matplotlib
  # needs minutes for it).
  python3 - "$out/mpl_line.json" <<'PY'
import json, sys
d = json.load(open("examples/mpl_line.json"))
d["output"] = {"format": "mp4", "codec": "h264", "encoder": "cpu", "preset": "medium", "quality": 23}
json.dump(d, open(sys.argv[1], "w"))
PY
  read -r idl secsl < <(run_job "$out/mpl_line.json")
  curl -sf -o "$out/kinora_line.mp4" "$base/v1/jobs/$idl/video"
  curl -sf -X DELETE "$base/v1/jobs/$idl" >/dev/null
  ml=$(cd "$out" && /usr/bin/python3 "$root/bench/mpl_line.py" --out "$out/mpl_line.mp4" | sed -E 's/.* in ([0-9.]+) s.*/\1/')
  # The encoder limit of these frames (9 GB of raw BGRA: /dev/shm when it
  # has room, else the disk).
  fl=$(bash "$root/bench/encoder_limit.sh" "$out/kinora_line.mp4" medium 23 | sed -E 's/.* in ([0-9.]+) s.*/\1/')
  xl=$(x264_only "$out/kinora_line.mp4")
  printf '== examples/mpl_line.json (1920x1080, 1080 frames, medium CRF 23), one round: kinora %.2f s, matplotlib %.2f s: %.1fx faster; ffmpeg CLI encode-only %.2f s: kinora %.2fx of it\n' \
    "$secsl" "$ml" "$(echo "$ml / $secsl" | bc -l)" "$fl" "$(echo "$secsl / $fl" | bc -l)"
  printf 'x264 alone on these frames as I420: %.2f s: kinora %.2fx of it; matplotlib is %.1fx of it, the most any x264-medium pipeline can be faster than matplotlib here\n' \
    "$xl" "$(echo "$secsl / $xl" | bc -l)" "$(echo "$ml / $xl" | bc -l)"
fi

if [ "${MEM:-1}" = 1 ]; then
  /usr/bin/python3 bench/make_wave_job.py --tween --frames 3000 --size 1920x1080 --preset ultrafast > "$out/mem.json"
  pss() {  # PSS in kB of the server and all its descendants
    local pids total=0 p v
    pids=$(ps -o pid= --ppid "$srv" 2>/dev/null; for c in $(ps -o pid= --ppid "$srv"); do ps -o pid= --ppid "$c"; done)
    for p in $srv $pids; do
      v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
      total=$((total + ${v:-0}))
    done
    echo $total
  }
  id=$(curl -sf --data-binary @"$out/mem.json" "$base/v1/jobs" | sed -E 's/.*"id":"([^"]+)".*/\1/')
  # Sampling PSS is the benchmark's own polling, twice a second.
  peak=0; samples=0
  while :; do
    v=$(pss); [ "$v" -gt "$peak" ] && peak=$v; samples=$((samples + 1))
    st=$(curl -sf "$base/v1/jobs/$id" | sed -E 's/.*"status":"([a-z]+)".*/\1/')
    case $st in succeeded|failed|canceled) break ;; esac
    sleep 0.5
  done
  wbytes=0
  for p in $(ps -o pid= --ppid "$(ps -o pid= --ppid "$srv" | head -1)"); do
    v=$(awk '/^write_bytes:/ {print $2}' "/proc/$p/io" 2>/dev/null || echo 0); wbytes=$((wbytes + v))
  done
  echo "== 1920x1080, 3000 frames, ultrafast: job $st"
  echo "peak PSS over all Kinora processes: $((peak / 1024)) MB over $samples samples (goal < 300 MB)"
  echo "bytes written to disk by render workers: $wbytes"
fi
