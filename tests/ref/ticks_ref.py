#!/usr/bin/python3
"""Reference values for render/ticks.c, computed by matplotlib itself.

Everything below is read off real matplotlib Axes (Agg canvas), not re-typed
formulas, so the C module is checked against the library's behaviour:

  * linear ticks: MaxNLocator(nbins=N, steps=[1, 2, 2.5, 5, 10]) -- what
    AutoLocator is, with nbins='auto' resolved to N -- on an x axis with
    set_xlim(lo, hi); the ticks listed are the ones the axis draws
    (Axis._update_ticks: the locator's values inside the view interval, with
    matplotlib's 1e-10 relative slack).
  * labels: ScalarFormatter(useOffset=False) with the default powerlimits
    (-5, 6) and axes.unicode_minus off (Kinora writes ASCII '-'); the mantissa
    labels are matplotlib's text, exp10 is the formatter's orderOfMagnitude
    (the power of ten matplotlib moves into the corner "offset" text).
  * explicit ticks: the same formatter on ax.set_xticks(ticks) with the view
    interval set to [min, max] of the ticks.
  * log ticks: LogLocator(base=10, subs=(1.0,), numticks=N) on a log x axis,
    the ticks drawn (filtered in log space, as matplotlib does); labels from
    LogFormatterSciNotation, which Kinora writes "10" + UTF-8 superscripts.
  * auto limits: ax.plot([d0, d1], [d0, d1]) with the default margins
    (axes.xmargin 0.05, autolimit_mode 'data'), read back with get_xlim(), on
    a linear and on a log x axis.

Usage: /usr/bin/python3 tests/ref/ticks_ref.py > /tmp/ticks_ref.inc
and paste the output between the "BEGIN GENERATED" / "END GENERATED" markers
of tests/test_ticks.c. Made with matplotlib 3.6.3 / numpy 1.24.2 (Debian).
"""

import math
import sys
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import ticker  # noqa: E402

matplotlib.rcParams["axes.unicode_minus"] = False

# (lo, hi, nbins): tiny, huge, negative, straddling zero, offset-sized
# (the locator subtracts a power of ten when |mean| >= 100 * span),
# singular, reversed, and a few nbins other than 9.
LINEAR = [
    (0, 1, 9),
    (0, 10, 9),
    (-1.1, 1.1, 9),
    (0, 0.0003, 9),
    (1e6, 5e6, 9),
    (-250, 17, 9),
    (0.5, 0.52, 9),
    (0, 100, 9),
    (-5, 5, 9),
    (-0.3, 0.3, 9),
    (0, 0.7, 9),
    (0.1, 0.9, 9),
    (2.5, 97.3, 9),
    (-1234, -1200, 9),
    (1e-9, 5e-9, 9),
    (-1e-6, 1e-6, 9),
    (1e12, 3e12, 9),
    (1.5e-5, 4.5e-5, 9),
    (1000000, 1000010, 9),
    (100, 100.5, 9),
    (3.7, 3.7, 9),
    (10, 0, 9),
    (0, 2 * math.pi, 9),
    (-17.5, 3000, 9),
    (0.001, 0.0012, 9),
    (123456, 123789, 9),
    (0, 1, 4),
    (0, 1, 1),
    (0, 3, 5),
    (-1, 1, 2),
    (0, 1000, 6),
    (0.95, 1.05, 3),
    # Views a few 1e-14 wide: the locator subtracts a negative offset (and
    # must loosen its edge tolerance for it as for a positive one), and the
    # formatter's decimals come from the edge ticks beyond the view too.
    (-832.9698383710985, -832.9698383711235, 5),
    (-0.12, -0.12000000000012001, 1),
    (7300405765.359731, 7300405765.359949, 3),
]

# Explicit tick lists for the label formatter.
EXPLICIT = [
    [0.1, 0.2, 0.1 + 0.2],
    [0, 0.25, 0.5],
    [1e-5, 2e-5, 3e-5],
    [-1, 0, 1],
    [1e6, 2e6],
    [0.0001, 0.0002],
    [2.5],
    [-0.5, 0.5, 1.5],
    [999999, 1000000],
    [0.001, 0.01, 0.1, 1],
    [7, 7.125],
    [1e-300, 2e-300],
]

# (lo, hi, numticks)
LOG = [
    (1, 1000, 9),
    (1e-3, 1e2, 9),
    (1, 10, 9),
    (5, 50, 9),
    (2, 8, 9),
    (0.3, 3, 9),
    (1e-10, 1e10, 9),
    (1, 1e20, 9),
    (10, 1e6, 4),
    (1e-200, 1e200, 9),
    (0.5, 2e5, 9),
    (1000, 1, 9),
    (1e-5, 1e-3, 2),
    (53185.3, 9.9e149, 2),  # one tick across 145 decades
    (53185.3, 1e150, 5),
]

AUTO_LINEAR = [
    (0, 1), (0, 10), (-3, 7), (5, 5), (0, 0), (1e-300, 1e-300),
    (-2.5, -2.5), (1e6, 1e6 + 1), (0.1, 0.3), (-1e9, 1e12), (1, 1.0000000000000002),
]
AUTO_LOG = [
    (1, 1000), (0.5, 2), (10, 10), (3e-5, 7e4), (1, 1e100), (100, 100),
]


def c(x):
    """A C literal that reads back to the same double."""
    if x == 0:
        return "-0.0" if math.copysign(1, x) < 0 else "0.0"
    r = repr(float(x))
    if "e" not in r and "." not in r and "inf" not in r:
        r += ".0"
    return r


def cs(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


SUP = {"0": "\u2070", "1": "\u00b9", "2": "\u00b2", "3": "\u00b3",
       "4": "\u2074", "5": "\u2075", "6": "\u2076", "7": "\u2077",
       "8": "\u2078", "9": "\u2079", "-": "\u207b"}


def drawn(axis):
    # The minor locators are NullLocators here, so every tick drawn is major.
    return axis._update_ticks()


def linear_case(lo, hi, nbins):
    fig, ax = plt.subplots()
    ax.xaxis.set_major_locator(
        ticker.MaxNLocator(nbins=nbins, steps=[1, 2, 2.5, 5, 10]))
    fmt = ticker.ScalarFormatter(useOffset=False)
    ax.xaxis.set_major_formatter(fmt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lo == hi is part of the table
        ax.set_xlim(lo, hi)
    vlo, vhi = ax.get_xlim()
    fig.canvas.draw()
    ticks = drawn(ax.xaxis)
    locs = [t.get_loc() for t in ticks]
    labels = [t.label1.get_text() for t in ticks]
    oom = fmt.orderOfMagnitude
    plt.close(fig)
    return vlo, vhi, locs, labels, oom


def explicit_case(ticks):
    fig, ax = plt.subplots()
    fmt = ticker.ScalarFormatter(useOffset=False)
    ax.xaxis.set_major_formatter(fmt)
    ax.set_xticks(ticks)
    lo, hi = min(ticks), max(ticks)
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    ax.set_xlim(lo, hi)
    fig.canvas.draw()
    labels = fmt.format_ticks(ticks)
    oom = fmt.orderOfMagnitude
    plt.close(fig)
    return labels, oom


def log_case(lo, hi, numticks):
    fig, ax = plt.subplots()
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0,),
                                                 numticks=numticks))
    ax.xaxis.set_minor_locator(ticker.NullLocator())
    ax.set_xlim(lo, hi)
    fig.canvas.draw()
    ticks = drawn(ax.xaxis)
    locs = [t.get_loc() for t in ticks]
    labels = []
    for t in ticks:
        s = t.label1.get_text()
        # "$\mathdefault{10^{-3}}$" -> "10" + superscripts
        assert s.startswith("$\\mathdefault{10^{") and s.endswith("}}$"), s
        e = s[len("$\\mathdefault{10^{"):-3]
        labels.append("10" + "".join(SUP[ch] for ch in e))
    plt.close(fig)
    return locs, labels


def auto_limits(d0, d1, log):
    fig, ax = plt.subplots()
    if log:
        ax.set_xscale("log")
    ax.plot([d0, d1], [1, 1])
    lo, hi = ax.get_xlim()
    plt.close(fig)
    return lo, hi


def main():
    out = sys.stdout
    w = out.write
    w("/* Generated by tests/ref/ticks_ref.py (matplotlib %s). */\n"
      % matplotlib.__version__)

    w("static const lin_ref LIN_REF[] = {\n")
    for lo, hi, nbins in LINEAR:
        vlo, vhi, locs, labels, oom = linear_case(lo, hi, nbins)
        assert len(locs) <= 16
        w("    {%s, %s, %s, %s, %d, %d, %d,\n     {%s},\n     {%s}},\n" % (
            c(lo), c(hi), c(vlo), c(vhi), nbins, len(locs), oom,
            ", ".join(c(x) for x in locs),
            ", ".join(cs(s) for s in labels)))
    w("};\n\n")

    w("static const fmt_ref FMT_REF[] = {\n")
    for ticks in EXPLICIT:
        labels, oom = explicit_case(ticks)
        w("    {%d, %d, {%s},\n     {%s}},\n" % (
            len(ticks), oom, ", ".join(c(x) for x in ticks),
            ", ".join(cs(s) for s in labels)))
    w("};\n\n")

    w("static const log_ref LOG_REF[] = {\n")
    for lo, hi, nt in LOG:
        locs, labels = log_case(lo, hi, nt)
        assert len(locs) <= 16
        w("    {%s, %s, %d, %d,\n     {%s},\n     {%s}},\n" % (
            c(lo), c(hi), nt, len(locs),
            ", ".join(c(x) for x in locs),
            ", ".join(cs(s) for s in labels)))
    w("};\n\n")

    w("static const lim_ref LIM_REF[] = {\n")
    for d0, d1 in AUTO_LINEAR:
        lo, hi = auto_limits(d0, d1, False)
        w("    {0, %s, %s, %s, %s},\n" % (c(d0), c(d1), c(lo), c(hi)))
    for d0, d1 in AUTO_LOG:
        lo, hi = auto_limits(d0, d1, True)
        w("    {1, %s, %s, %s, %s},\n" % (c(d0), c(d1), c(lo), c(hi)))
    w("};\n")


if __name__ == "__main__":
    main()
