"""Progress of long steps: bar on a terminal, plain periodic lines with an ETA otherwise."""

import io

from tinygen.progress import bar_counter, counter, plain_counter


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def test_plain_lines_are_periodic_and_give_an_eta():
    out, clock = io.StringIO(), Clock()
    show = plain_counter("validating", "samples", out, every_s=10.0, clock=clock)
    clock.t += 2.0
    show(1, 8)  # first call: a line
    clock.t += 2.0
    show(2, 8)  # 2 s later: suppressed
    clock.t += 10.0
    show(4, 8)  # 10 s after the last line: shown; 14 s for 4 of 8 -> ETA 14 s
    clock.t += 1.0
    show(8, 8)  # the end is always shown, without an ETA
    lines = out.getvalue().splitlines()
    assert lines == ["  validating: 1/8 samples, 2 s, ETA 14 s", "  validating: 4/8 samples, 14 s, ETA 14 s",
                     "  validating: 8/8 samples, 15 s"]


def test_bar_reaches_the_total():
    out = io.StringIO()
    show = bar_counter("compiling", "objects", out)
    for i in range(1, 6):
        show(i, 5)
    text = out.getvalue()
    assert "compiling" in text and "5/5" in text


def test_not_a_terminal_gets_plain_lines(monkeypatch):
    out = io.StringIO()  # isatty() is False
    show = counter("validating", "samples", out)
    show(3, 3)
    assert out.getvalue() == "  validating: 3/3 samples, 0 s\n"
    monkeypatch.setenv("TINYGEN_PLAIN_PROGRESS", "1")

    class Tty(io.StringIO):
        def isatty(self):
            return True
    tty = Tty()
    counter("x", "y", tty)(1, 1)
    assert tty.getvalue() == "  x: 1/1 y, 0 s\n"
