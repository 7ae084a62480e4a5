#!/usr/bin/python3
"""matplotlib's rendering of frame 200 of examples/mpl_line.json (pympanim's
example: 1920x1080, cos(f x) for x in [-1, 1], red line width 2, ylim
[-1.1, 1.1], title Frequency=%.3f; at t = 200/60 s, f = 1 + 9 * (t / 5) = 7).
Writes docs/img/mpl_line_matplotlib.png for comparison with
docs/img/mpl_line.png (made by `kinora frame examples/mpl_line.json --frame 200`)."""
import numpy as np
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

t = 200 / 60
f = 1 + 9 * (t / 5)
fig, ax = plt.subplots(figsize=(19.2, 10.8), dpi=100)
x = np.linspace(-1, 1, 500)
ax.plot(x, np.cos(f * x), color="red", lw=2)
ax.set_ylim(-1.1, 1.1)
ax.set_title("Frequency=%.3f" % f)
fig.savefig("docs/img/mpl_line_matplotlib.png", dpi=100)
