#!/usr/bin/python3
"""Writes the plot-like benchmark job: the same animation as
bench/mpl_wave.py (a 500-point sine on labelled axes, phase moving
one period over the clip), drawn with Kinora's primitives: white background,
axes box, ticks, tick labels, title, and a polyline whose points are given per
frame (the way a matplotlib user pushes data).

usage: make_wave_job.py [--frames 300] [--size 1280x720] [--fps 30]
                        [--preset medium] [--crf 23] > job.json
"""
import argparse, json, math

ap = argparse.ArgumentParser()
ap.add_argument("--frames", type=int, default=300)
ap.add_argument("--size", default="1280x720")
ap.add_argument("--fps", type=int, default=30)
ap.add_argument("--preset", default="medium")
ap.add_argument("--crf", type=int, default=23)
ap.add_argument("--plot", action="store_true",
                help="the same chart as a `plot` element (axes, ticks and labels by Kinora)")
ap.add_argument("--expr", action="store_true",
                help="compute the wave with an expression of t (a 3 kB document)")
ap.add_argument("--tween", action="store_true",
                help="animate the wave with a timeline tween instead of per-frame points "
                     "(a small document for long clips)")
a = ap.parse_args()
w, h = (int(v) for v in a.size.split("x"))

# Axes box like matplotlib's default subplot margins.
x0, x1 = 0.125 * w, 0.9 * w
y0, y1 = 0.11 * h, 0.88 * h          # figure fractions from the bottom
top, bottom = h - y1 * 1.0, h - y0 * 1.0
left, right = x0, x1
def px(x):  # data x in [0, 2pi] -> pixels
    return left + (right - left) * x / (2 * math.pi)
def py(y):  # data y in [-1.2, 1.2] -> pixels
    return bottom - (bottom - top) * (y + 1.2) / 2.4

els = [{"type": "rect", "x": left, "y": top, "width": right - left, "height": bottom - top,
        "stroke": "#000000", "stroke_width": 1}]
for k in range(7):
    x = px(k)
    els.append({"type": "line", "x1": x, "y1": bottom, "x2": x, "y2": bottom + 5, "stroke": "#000", "stroke_width": 1})
    els.append({"type": "text", "x": x, "y": bottom + 8, "text": str(k), "size": 14, "fill": "#000",
                "align": "center", "baseline": "top"})
for k in range(-4, 5):
    y = py(k * 0.25 if k % 2 == 0 else k * 0.25)
    if k % 2:
        continue
    els.append({"type": "line", "x1": left - 5, "y1": y, "x2": left, "y2": y, "stroke": "#000", "stroke_width": 1})
    els.append({"type": "text", "x": left - 8, "y": y, "text": "%.1f" % (k * 0.25), "size": 14, "fill": "#000",
                "align": "right", "baseline": "middle"})
els.append({"type": "text", "x": (left + right) / 2, "y": top - 8, "text": "sine", "size": 17, "fill": "#000",
            "align": "center", "baseline": "bottom"})
N = 500
xs = [2 * math.pi * i / (N - 1) for i in range(N)]
def pts(i):
    ph = i * 2 * math.pi / a.frames
    return [[round(px(x), 2), round(py(math.sin(x + ph)), 2)] for x in xs]
els.append({"id": "wave", "type": "polyline", "points": pts(0), "stroke": "#1f77b4", "stroke_width": 2,
            "line_join": "round", "line_cap": "square"})
job = {
    "width": w, "height": h, "fps": a.fps, "duration": a.frames / a.fps,
    "background": "#ffffff",
    "elements": els,
    "output": {"format": "mp4", "codec": "h264", "encoder": "cpu", "preset": a.preset, "quality": a.crf},
}
if a.plot:
    clip = a.frames / a.fps
    job["elements"] = [{
        "type": "plot", "x": 0, "y": 0, "width": w, "height": h, "title": "sine",
        "xlim": [0, 2 * math.pi], "ylim": [-1.2, 1.2], "size": 14,
        "series": [{"id": "wave", "type": "line", "width": 2,
                    "x": {"linspace": [0, 2 * math.pi, N]},
                    "y": "=sin(x + 2*pi*t/%r)" % clip}],
    }]
elif a.expr:
    # y = sin(x + phase) with phase = 2 pi t / clip length, mapped to pixels
    # exactly as px()/py() do for the per-frame version.
    clip = a.frames / a.fps
    els[-1]["points"] = {
        "x": {"linspace": [px(0), px(2 * math.pi), N]},
        "y": "=%r - %r*(sin((x - %r)*%r + 2*pi*t/%r) + 1.2)" % (
            bottom, (bottom - top) / 2.4, left, 2 * math.pi / (right - left), clip),
    }
elif a.tween:
    half = a.frames / a.fps / 2
    job["timeline"] = {"tween": {"wave.points": pts(a.frames // 2)}, "duration": half,
                       "easing": "easeInOutSine", "repeat": 2}
else:
    job["frames"] = [{"set": {"wave.points": pts(i)}} for i in range(a.frames)]
print(json.dumps(job, separators=(",", ":")))
