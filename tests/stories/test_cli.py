"""The `facilitator` command, run as a real process."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import config_file, facilitator


def test_help_lists_every_command(tmp_path: Path) -> None:
    result = facilitator("--help", cwd=tmp_path)
    assert result.returncode == 0
    out = result.stdout.decode()
    for command in ("run", "check", "db", "export"):
        assert command in out


def test_run_with_piped_input_chats_and_exits_zero(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    script = b"alice: see https://example.org/a\nalice: /profile\nbob@resources: \xff\n"
    result = facilitator("run", "--config", str(config), stdin=script, cwd=tmp_path)
    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 0, err
    assert "Facilitator reacted :bookmark:" in out
    assert "links shared: 1" in out
    assert "not valid UTF-8" in out
    assert "console adapter" in err
    exported = facilitator(
        "export", "--config", str(config), "--member", "console:/alice", cwd=tmp_path
    )
    assert b"https://example.org/a" in exported.stdout


def test_check_prints_what_would_run(tmp_path: Path) -> None:
    result = facilitator("check", "--config", str(config_file(tmp_path)), cwd=tmp_path)
    assert result.returncode == 0
    out = result.stdout.decode()
    assert "platforms: console" in out and "community demo: time zone Europe/Berlin" in out


def test_a_bad_config_exits_2_with_the_fix(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[[communities]]\nname = 'x'\ntimezone = 'Mars/Olympus'\n", "utf-8")
    result = facilitator("run", "--config", str(bad), cwd=tmp_path)
    assert result.returncode == 2
    assert "communities[0].timezone" in result.stderr.decode()
    missing = facilitator("check", "--config", str(tmp_path / "nope.toml"), cwd=tmp_path)
    assert missing.returncode == 2
    assert "copy config.example.toml" in missing.stderr.decode()


def test_an_unwritable_database_path_exits_2_with_the_fix(tmp_path: Path) -> None:
    config = config_file(tmp_path, db="/nonexistent-dir/x.db")
    result = facilitator("run", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 2
    assert "storage.url" in result.stderr.decode()


def test_db_upgrade(tmp_path: Path) -> None:
    result = facilitator("db", "upgrade", "--config", str(config_file(tmp_path)), cwd=tmp_path)
    assert result.returncode == 0
    assert "schema is up to date" in result.stdout.decode()


def test_feeds_poll_exits_1_and_names_the_feeds_that_failed(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[storage]
url = "sqlite+aiosqlite:///{tmp_path / "f.db"}"
[web]
enabled = false
[[communities]]
name = "demo"
feeds = ["http://127.0.0.1/feed.xml"]
""",
        "utf-8",
    )
    result = facilitator("feeds", "poll", "--config", str(config), cwd=tmp_path)
    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 1, (out, err)
    assert "polled 1 feed(s): 0 new post(s), 0 unchanged, 1 failed" in out
    assert "1 of 1 feed(s) failed" in err
    assert "http://127.0.0.1/feed.xml: " in err and "loopback" in err
def test_the_report_names_the_communitys_days_of_the_week(tmp_path: Path) -> None:
    config = config_file(tmp_path)  # Europe/Berlin: the week starts Sunday 23:00 UTC
    result = facilitator("report", "--config", str(config), "--week", "2026-W49", cwd=tmp_path)
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode()
    assert "Mon 30 Nov – Sun 6 Dec 2026" in out
    assert "2026-11-29" not in out


def test_writing_into_a_missing_folder_or_exporting_nobody_exits_2(tmp_path: Path) -> None:
    config = str(config_file(tmp_path))
    chart = facilitator(
        "report", "--config", config, "--chart", str(tmp_path / "no" / "x.png"), cwd=tmp_path
    )
    assert chart.returncode == 2
    assert "--chart" in chart.stderr.decode() and "does not exist" in chart.stderr.decode()
    assert b"Traceback" not in chart.stderr
    facilitator("run", "--config", config, stdin=b"alice: hello there\n", cwd=tmp_path)
    out = tmp_path / "no" / "x.json"
    export = facilitator(
        "export",
        "--config",
        config,
        "--member",
        "console:/alice",
        "--output",
        str(out),
        cwd=tmp_path,
    )
    assert export.returncode == 2
    assert "--output" in export.stderr.decode() and "does not exist" in export.stderr.decode()
    assert b"Traceback" not in export.stderr
    nobody = tmp_path / "nobody.json"
    missing = facilitator(
        "export",
        "--config",
        config,
        "--member",
        "console:/zed",
        "--output",
        str(nobody),
        cwd=tmp_path,
    )
    assert missing.returncode == 2
    assert "nothing is stored about this member" in missing.stderr.decode()
    assert not nobody.exists()
