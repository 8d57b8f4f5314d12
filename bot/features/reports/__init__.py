"""The facilitator report: a week's engagement by stage, new voices, drift, and a chart."""

from bot.features.reports.model import PROFILE_WEEKS, WeekStages, standing, summarise
from bot.features.reports.render import member_line, report_figures, table
from bot.features.reports.store import report_inputs
from bot.runtime.feature import Feature, Kernel
from bot.runtime.service import Service

# isort: split
# Services last: what other features import from here is bound before they load.
from bot.features.reports.service import ReportService


def build(kernel: Kernel) -> list[Service]:
    """/report."""
    return [ReportService(kernel.directory)]


FEATURE = Feature(name="reports", build=build)

__all__ = [
    "FEATURE",
    "PROFILE_WEEKS",
    "ReportService",
    "WeekStages",
    "member_line",
    "report_figures",
    "report_inputs",
    "standing",
    "summarise",
    "table",
]
