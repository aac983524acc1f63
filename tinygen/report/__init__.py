"""The fit report: report.json contents, a readable text report, an SVG memory timeline and the
fit check that fails a build with the numbers.

    report = make_report(graph, plan, generated.layers, "f746zg", sram_capacity, flash_capacity)
    check_fit(report, sram_capacity, flash_capacity)   # raises TinygenError when it does not fit
"""

from tinygen.report.fit import check_fit
from tinygen.report.make import make_report
from tinygen.report.svg import timeline_svg
from tinygen.report.text import render_text

__all__ = ["check_fit", "make_report", "render_text", "timeline_svg"]
