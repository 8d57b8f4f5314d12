"""Assignments with self-evaluation, the facilitator's grade and the dialogue about it."""

from bot.features.assignments.config import RUBRICS, SCALES, RubricSettings, ScaleSettings
from bot.features.assignments.export import GradesExportError, grade_rows, to_csv, to_json
from bot.features.assignments.panel import assignments_panel, grading_line
from bot.features.assignments.store import GradingFigures, grading_figures
from bot.runtime.feature import Feature, Kernel
from bot.runtime.service import Service

# isort: split
# Services last: what other features import from here is bound before they load.
from bot.features.assignments.service import AssignmentService


def build(kernel: Kernel) -> list[Service]:
    """Assignments, submissions, grading."""
    return [
        AssignmentService(
            database=kernel.database,
            rubrics=kernel.config.section_list(RubricSettings),
            scales=kernel.config.section_list(ScaleSettings),
            texts=kernel.texts,
            communities=kernel.config.communities,
            run=kernel.run_in_transaction,
        )
    ]


FEATURE = Feature(
    name="assignments",
    build=build,
    member_tables=(
        "assignments",
        "assignment_extensions",
        "submissions",
        "grade_notes",
        "submission_drafts",
        "peer_reviews",
    ),
    settings=(RUBRICS, SCALES),
)

__all__ = [
    "FEATURE",
    "AssignmentService",
    "GradesExportError",
    "GradingFigures",
    "assignments_panel",
    "grade_rows",
    "grading_figures",
    "grading_line",
    "to_csv",
    "to_json",
]
