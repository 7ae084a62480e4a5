#!/usr/bin/python3
"""matplotlib making pympanim's example (examples/mpl_line.json) the way a
user would: FuncAnimation + FFMpegWriter, 1920x1080, 60 fps, 18 s, cos(f x)
for x in [-1, 1], red line width 2, ylim [-1.1, 1.1], title Frequency=%.3f,
f through four eased segments (pytweening's formulas). libx264 medium CRF 23.
Prints the wall time like bench/mpl_wave.py does."""
import argparse, math, time
import numpy as np
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.animation import FuncAnimation, FFMpegWriter

ap = argparse.ArgumentParser()
ap.add_argument("--out", default="mpl_line.mp4")
a = ap.parse_args()
FPS, DUR = 60, 18
N = FPS * DUR

def ease_out_cubic(u): return 1 - (1 - u) ** 3
def ease_out_circ(u): return math.sqrt(1 - (u - 1) ** 2)
def ease_in_circ(u): return 1 - math.sqrt(1 - u * u)

def f_at(t):
    segs = [(1, 10, 5, lambda u: u), (10, 1, 3, ease_out_cubic),
            (1, 5.5, 5, ease_out_circ), (5.5, 1, 5, ease_in_circ)]
    for lo, hi, d, e in segs:
        if t < d:
            return lo + (hi - lo) * e(t / d)
        t -= d
    return segs[-1][1]

t0 = time.time()
fig, ax = plt.subplots(figsize=(19.2, 10.8), dpi=100)
x = np.linspace(-1, 1, 500)
line, = ax.plot(x, np.cos(x), color="red", lw=2)
ax.set_ylim(-1.1, 1.1)
title = ax.set_title("")

def update(i):
    f = f_at(i / FPS)
    line.set_ydata(np.cos(f * x))
    title.set_text("Frequency=%.3f" % f)
    return line, title

FuncAnimation(fig, update, frames=N, blit=False).save(a.out, dpi=100, writer=FFMpegWriter(
    fps=FPS, codec="libx264", extra_args=["-preset", "medium", "-crf", "23", "-pix_fmt", "yuv420p"]))
print("matplotlib: %d frames 1920x1080 in %.2f s" % (N, time.time() - t0))
