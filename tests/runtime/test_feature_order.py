"""The feature list's order matters only where a feature declares it (`after`): start-up
refuses a list that breaks a declaration, and a story reads the same, word for word and row for
row, whatever order the undeclared rest of the list takes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.app import Application
from bot.core.clock import ManualClock
from bot.core.config import Config, Secrets
from bot.features import FEATURES
from bot.runtime.feature import Feature, FeatureOrderError, check_order, shuffled
from bot.storage.schema import metadata
from tests.helpers import START, ConsoleStory

STORY = [
    "newcomer: hello, first time here",
    "alice: a good read https://example.org/paper",
    "bob: agreed, and https://example.org/paper is cited a lot",
    "alice: /reflect about=L1 The method section is weak on sampling",
    "bob: /seek Who knows a good intro to survey design?",
    "alice: /annotate L1 See section 3 for the sample",
    "alice: /goal set Read two papers on survey design",
    "bob: /settings quotes=on",
    'fran: /event create title="Reading group" when="2026-12-10 17:00" duration=60m confirm=yes',
    "alice: /rsvp 1 going",
    "fran: /digest preview this",
    "alice: /profile",
    "fran: /report this",
    "alice: /help",
    "alice: /export",
    "bob: /forget-me confirm",
    "fran: /digest preview this",
]


def names(features: list[Feature]) -> list[str]:
    return [feature.name for feature in features]


def test_the_shipped_list_keeps_its_own_declarations() -> None:
    check_order(FEATURES)


def test_a_feature_listed_before_one_it_reads_is_refused() -> None:
    by_name = {feature.name: feature for feature in FEATURES}
    wrong = [by_name["loop"], by_name["links"]]
    with pytest.raises(FeatureOrderError, match="loop must be listed after links"):
        check_order(wrong)
    with pytest.raises(FeatureOrderError, match="listed twice"):
        check_order([by_name["links"], by_name["links"]])
    with pytest.raises(FeatureOrderError, match="not a feature"):
        check_order([by_name["loop"]])


def test_the_application_refuses_a_wrong_order(config_for: Callable[..., Config]) -> None:
    by_name = {feature.name: feature for feature in FEATURES}
    with pytest.raises(FeatureOrderError):
        Application(
            config_for(),
            secrets=Secrets(),
            clock=ManualClock(START),
            features=[by_name["loop"], by_name["links"]],
        )


@given(st.integers(min_value=0, max_value=2**32))
def test_a_shuffle_keeps_every_declaration_and_every_feature(seed: int) -> None:
    order = shuffled(FEATURES, seed)
    check_order(order)
    assert sorted(names(order)) == sorted(names(list(FEATURES)))


async def transcript(
    config: Config, clock: ManualClock, folder: Path, features: list[Feature]
) -> tuple[str, dict[str, int]]:
    folder.mkdir()
    async with ConsoleStory(config, clock, folder, features=features) as story:
        said = [await story.say(line) for line in STORY]
        async with story.app.database.reading() as conn:
            counts = {
                table.name: int(
                    (await conn.execute(select(func.count()).select_from(table))).scalar_one()
                )
                for table in metadata.sorted_tables
                if table.name not in ("deliveries", "job_marks")
            }
    # The export's file name carries the folder of this run.
    return "\n".join(said).replace(str(folder), "<folder>"), counts


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_a_story_reads_the_same_in_any_undeclared_order(
    config_for: Callable[..., Config], tmp_path: Path, seed: int
) -> None:
    # Two databases: the listed order, then a shuffled one, each from the same start.
    def on(name: str) -> Config:
        database = {"url": f"sqlite+aiosqlite:///{tmp_path / name}.db"}
        return config_for(storage=database, fetch={"previews": False})

    listed = await transcript(on("listed"), ManualClock(START), tmp_path / "a", list(FEATURES))
    order = shuffled(FEATURES, seed)
    assert names(order) != names(list(FEATURES))
    again = await transcript(on("shuffled"), ManualClock(START), tmp_path / "b", order)
    assert again == listed, names(order)
