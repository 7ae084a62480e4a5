#!/usr/bin/python3
"""Independent reference values for lang/expr.c (tests/test_expr.c).

Each row pairs a Kinora expression with the same computation written by hand
in Python, with every precedence and associativity rule of lang/expr.h made
explicit by parentheses and helper functions, so the table checks the parser's
grouping rather than restating it:

  * comparisons, &&, ||, ! give 1.0 or 0.0 and do not chain (C, not Python):
    "3>2>1" is b(b(3 > 2) > 1) = 0;
  * ^ and ** are right-associative and bind tighter than a prefix minus on
    their left: "-2^2" is -(2**2);
  * % and mod() are floored like Python's %;
  * round() rounds halves away from zero (Decimal ROUND_HALF_UP), unlike
    Python's round();
  * min/max take 2 or more arguments; clamp(x,lo,hi) = min(max(x,lo),hi);
    lerp(a,b,u) = a + (b-a)*u (the C code computes (1-u)*a + u*b: equal up to
    rounding, hence the tolerance in the test).

Variables: t=1.5, x=-2.25, f=3, frame=36, n=0.

Usage: /usr/bin/python3 tests/ref/expr_ref.py   (prints C rows to paste into
the EXPR_REF table of tests/test_expr.c)
"""

import math
from decimal import Decimal, ROUND_HALF_UP

t, x, f, frame, n = 1.5, -2.25, 3.0, 36.0, 0.0
pi, e = math.pi, math.e


def b(v):
    return 1.0 if v else 0.0


def rnd(v):
    return float(Decimal(v).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def clamp(v, lo, hi):
    return min(max(v, lo), hi)


def lerp(a, c, u):
    return a + (c - a) * u


sin, cos, tan = math.sin, math.cos, math.tan
asin, acos, atan, atan2 = math.asin, math.acos, math.atan, math.atan2
sqrt, exp, log, log10 = math.sqrt, math.exp, math.log, math.log10
floor, ceil, fabs = math.floor, math.ceil, math.fabs

ROWS = [
    # precedence and associativity of the arithmetic operators
    ("1+2*3", "1 + (2 * 3)"),
    ("(1+2)*3", "(1 + 2) * 3"),
    ("10-4-3", "(10 - 4) - 3"),
    ("100/10/5", "(100 / 10) / 5"),
    ("2*3/4", "(2 * 3) / 4"),
    ("8/2*4", "(8 / 2) * 4"),
    ("1-2+3", "(1 - 2) + 3"),
    ("2^3^2", "2 ** (3 ** 2)"),
    ("2**3**2", "2 ** (3 ** 2)"),
    ("2^3**2", "2 ** (3 ** 2)"),
    ("(2^3)^2", "(2 ** 3) ** 2"),
    ("-2^2", "-(2 ** 2)"),
    ("-2**2", "-(2 ** 2)"),
    ("(-2)^2", "(-2) ** 2"),
    ("2^-1", "2 ** (-1)"),
    ("2^-2^2", "2 ** (-(2 ** 2))"),
    ("-2^-2", "-(2 ** (-2))"),
    ("2*3^2", "2 * (3 ** 2)"),
    ("3^2*2", "(3 ** 2) * 2"),
    ("-3*-2", "(-3) * (-2)"),
    ("--3", "-(-3)"),
    ("+-+3", "-3"),
    ("- - 2 ^ 2", "-(-(2 ** 2))"),
    ("7%3", "7 % 3"),
    ("-7%3", "(-7) % 3"),
    ("7%-3", "7 % (-3)"),
    ("-7.5%2", "(-7.5) % 2"),
    ("5.5%2.5", "5.5 % 2.5"),
    ("2*7%4", "(2 * 7) % 4"),
    ("7%4*2", "(7 % 4) * 2"),
    ("1+7%4", "1 + (7 % 4)"),
    ("2^10%1000", "(2 ** 10) % 1000"),
    # comparisons and logic: C-like, no chaining
    ("1+2<4", "b((1 + 2) < 4)"),
    ("1+2<=3", "b((1 + 2) <= 3)"),
    ("3>=3.5", "b(3 >= 3.5)"),
    ("1<2==1", "b(b(1 < 2) == 1)"),
    ("3>2>1", "b(b(3 > 2) > 1)"),
    ("1<2<3", "b(b(1 < 2) < 3)"),
    ("3<2<1", "b(b(3 < 2) < 1)"),
    ("2==2!=0", "b(b(2 == 2) != 0)"),
    ("1!=1", "b(1 != 1)"),
    ("1+1==2&&3>2", "b(b(1 + 1 == 2) and b(3 > 2))"),
    ("0||0&&1", "b(0 or b(0 and 1))"),
    ("1||0&&0", "b(1 or b(0 and 0))"),
    ("0&&1||1", "b(b(0 and 1) or 1)"),
    ("2&&3", "b(2 and 3)"),
    ("0.5||0", "b(0.5 or 0)"),
    ("!0+1", "b(not 0) + 1"),
    ("!(0+1)", "b(not (0 + 1))"),
    ("!1==0", "b(b(not 1) == 0)"),
    ("!!5", "b(not b(not 5))"),
    ("-!0", "-b(not 0)"),
    ("!-2^2", "b(not (-(2 ** 2)))"),
    ("!0^2", "b(not (0 ** 2))"),
    ("1<2&&2<3", "b(b(1 < 2) and b(2 < 3))"),
    # ternary: loosest, right-associative
    ("1?2:3", "2 if 1 else 3"),
    ("0?2:3", "2 if 0 else 3"),
    ("1?0?4:5:6", "(4 if 0 else 5) if 1 else 6"),
    ("0?1:0?2:3", "1 if 0 else (2 if 0 else 3)"),
    ("1?1:0?2:3", "1 if 1 else (2 if 0 else 3)"),
    ("1+1?10:20", "10 if (1 + 1) else 20"),
    ("1||0?7:8", "7 if b(1 or 0) else 8"),
    ("0&&1?7:8", "7 if b(0 and 1) else 8"),
    ("2>1?3+4:5*6", "(3 + 4) if b(2 > 1) else (5 * 6)"),
    ("(0?1:2)+10", "(1 if 0 else 2) + 10"),
    ("(1?t:2)*2", "(t if 1 else 2) * 2"),
    ("t>1?t*2:t/2", "(t * 2) if b(t > 1) else (t / 2)"),
    ("t<1?t*2:t/2", "(t * 2) if b(t < 1) else (t / 2)"),
    ("(t>1?1:2)+(t<1?10:20)", "(1 if t > 1 else 2) + (10 if t < 1 else 20)"),
    ("n?1:n?2:3", "1 if n else (2 if n else 3)"),
    ("x<0?-x:x", "(-x) if x < 0 else x"),
    # numbers and spacing
    ("1e3+.5", "1000.0 + 0.5"),
    ("1.5e-3*2", "0.0015 * 2"),
    ("2E+2", "200.0"),
    ("0.000001", "1e-06"),
    ("5.", "5.0"),
    ("007", "7.0"),
    (" 1 +\t2 *\n3\r", "1 + (2 * 3)"),
    ("((((1))))+2", "1 + 2"),
    ("2*(3+(4-(5*(6-7))))", "2 * (3 + (4 - (5 * (6 - 7))))"),
    # functions
    ("sin(0.5)", "sin(0.5)"),
    ("cos(0.5)", "cos(0.5)"),
    ("tan(0.5)", "tan(0.5)"),
    ("tan(-1)", "tan(-1)"),
    ("asin(0.5)", "asin(0.5)"),
    ("asin(-1)", "asin(-1)"),
    ("acos(0.5)", "acos(0.5)"),
    ("acos(-0.25)", "acos(-0.25)"),
    ("atan(0.5)", "atan(0.5)"),
    ("atan(-3)", "atan(-3)"),
    ("sqrt(0.25)+exp(-1)+log(0.5)", "sqrt(0.25) + exp(-1) + log(0.5)"),
    ("atan2(1,-2)", "atan2(1, -2)"),
    ("atan2(-1,-2)", "atan2(-1, -2)"),
    ("sqrt(2)", "sqrt(2)"),
    ("exp(1.5)", "exp(1.5)"),
    ("log(10)", "log(10)"),
    ("log10(1000)", "log10(1000)"),
    ("log10(2)", "log10(2)"),
    ("pow(2,10)", "2.0 ** 10"),
    ("pow(2,0.5)", "2.0 ** 0.5"),
    ("pow(-2,3)", "(-2.0) ** 3"),
    ("abs(-3.5)", "fabs(-3.5)"),
    ("abs(3.5)", "fabs(3.5)"),
    ("floor(-2.5)", "floor(-2.5)"),
    ("floor(2.5)", "floor(2.5)"),
    ("ceil(-2.5)", "ceil(-2.5)"),
    ("ceil(2.1)", "ceil(2.1)"),
    ("round(2.5)", "rnd(2.5)"),
    ("round(-2.5)", "rnd(-2.5)"),
    ("round(0.5)", "rnd(0.5)"),
    ("round(1.4999)", "rnd(1.4999)"),
    ("round(-0.4)", "rnd(-0.4)"),
    ("round(3.5)", "rnd(3.5)"),
    ("min(3,1)", "min(3, 1)"),
    ("min(3,1,2)", "min(3, 1, 2)"),
    ("min(4,5,-1,2,0)", "min(4, 5, -1, 2, 0)"),
    ("max(3,1)", "max(3, 1)"),
    ("max(1,5,2)", "max(1, 5, 2)"),
    ("max(-1,-5,-2,-7,-3)", "max(-1, -5, -2, -7, -3)"),
    ("clamp(5,0,1)", "clamp(5, 0, 1)"),
    ("clamp(-5,0,1)", "clamp(-5, 0, 1)"),
    ("clamp(0.3,0,1)", "clamp(0.3, 0, 1)"),
    ("clamp(5,2,1)", "clamp(5, 2, 1)"),
    ("lerp(10,20,0.25)", "lerp(10, 20, 0.25)"),
    ("lerp(10,20,1.5)", "lerp(10, 20, 1.5)"),
    ("lerp(-1,1,0)", "lerp(-1, 1, 0)"),
    ("lerp(3,7,1)", "lerp(3, 7, 1)"),
    ("mod(-7,3)", "(-7) % 3"),
    ("mod(7,-3)", "7 % (-3)"),
    ("mod(7.5,2)", "7.5 % 2"),
    ("mod(-0.5,1)", "(-0.5) % 1"),
    ("mod(6,3)", "6 % 3"),
    ("pi", "pi"),
    ("e", "e"),
    ("2*pi", "2 * pi"),
    ("e^2", "e ** 2"),
    ("sin(pi/6)", "sin(pi / 6)"),
    ("max(min(4,2),1+1.5)", "max(min(4, 2), 1 + 1.5)"),
    ("-sqrt(4)^2", "-(sqrt(4) ** 2)"),
    ("sqrt(16)^0.5", "sqrt(16) ** 0.5"),
    ("atan2(min(1,2,3),max(2,3))", "atan2(min(1, 2, 3), max(2, 3))"),
    # variables
    ("t*f+x", "(t * f) + x"),
    ("x^2", "x ** 2"),
    ("-x^2", "-(x ** 2)"),
    ("(-x)^2", "(-x) ** 2"),
    ("frame/f", "frame / f"),
    ("cos(f*x)", "cos(f * x)"),
    ("n", "n"),
    ("!n", "b(not n)"),
    ("t%1", "t % 1"),
    ("x%1", "x % 1"),
    ("frame%f", "frame % f"),
    ("t*2^f", "t * (2 ** f)"),
    ("clamp(x,-1,t)", "clamp(x, -1, t)"),
    ("lerp(x,t,0.5)", "lerp(x, t, 0.5)"),
    ("min(t,x,f)+max(t,x,f)", "min(t, x, f) + max(t, x, f)"),
    ("round(x)", "rnd(x)"),
    ("floor(x)+ceil(x)", "floor(x) + ceil(x)"),
    ("544*t/5", "(544 * t) / 5"),
    ("x<t&&t<f", "b(b(x < t) and b(t < f))"),
    ("x>t||t>f", "b(b(x > t) or b(t > f))"),
]


def main():
    for src, py in ROWS:
        v = float(eval(py))
        cs = src.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t") \
                .replace("\n", "\\n").replace("\r", "\\r")
        print('    { "%s", %s },' % (cs, repr(v)))


if __name__ == "__main__":
    main()
