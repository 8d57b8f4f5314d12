"""`facilitator grades export` as a real process, on what a console session recorded: every
version with its levels by criterion, the proposed and the final grade, as CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tests.helpers import config_file, facilitator

SCRIPT = b"""fran: /assignment create "Blog post 1" "in 3 days" rubric=blog scale=pmd
alice: /submit A1 https://alice.example/one
alice: /self-assess level A1 1 3
alice: /self-assess level A1 2 2
alice: /self-assess level A1 3 3
alice: /self-assess finish A1 strengths="links" improve="sources" grade=merit
alice: /submit A1 https://alice.example/two
alice: /self-assess level A1 1 4
alice: /self-assess level A1 2 3
alice: /self-assess level A1 3 3
alice: /self-assess finish A1 strengths="more links" improve="less" grade=distinction
fran: /grade final S2 merit Good, the sources need work
"""


def test_grades_export_writes_every_version_with_levels_and_grades(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    result = facilitator("run", "--config", str(config), stdin=SCRIPT, cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert b"final grade merit is recorded" in result.stdout, result.stdout.decode()[-2000:]

    exported = facilitator(
        "grades", "export", "--config", str(config), "--assignment", "A1", cwd=tmp_path
    )
    assert exported.returncode == 0, exported.stderr.decode()
    rows = list(csv.DictReader(io.StringIO(exported.stdout.decode())))
    assert [(r["submission"], r["version"], r["current"]) for r in rows] == [
        ("S1", "1", "False"),
        ("S2", "2", "True"),
    ]
    assert rows[0]["level: Connections"] == "proficient"
    assert rows[1]["level: Connections"] == "exemplary"
    assert rows[1]["proposed_grade"] == "distinction" and rows[1]["final_grade"] == "merit"
    assert rows[1]["graded_by"] == "console:/fran" and rows[1]["member"] == "alice"

    out = tmp_path / "grades.json"
    written = facilitator(
        "grades", "export", "--config", str(config), "--assignment", "a1",
        "--format", "json", "--output", str(out), cwd=tmp_path,
    )  # fmt: skip
    assert written.returncode == 0 and b"wrote 2 submitted versions" in written.stdout
    document = json.loads(out.read_text("utf-8"))
    assert document[1]["work"] == "https://alice.example/two"
    assert document[0]["strengths"] == "links"

    missing = facilitator(
        "grades", "export", "--config", str(config), "--assignment", "A9", cwd=tmp_path
    )
    assert missing.returncode == 2 and b"no such assignment" in missing.stderr
