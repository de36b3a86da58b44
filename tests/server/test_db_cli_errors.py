"""``tweenlab db upgrade`` and ``tweenlab user create`` on bad settings and odd databases: one
line each saying what is wrong, never a password, an SQL statement or a password hash.

An audit found ``db upgrade`` printing the database password and only an exception's class
name, internal errors for a ``mysql://`` URL, a port that is not a number, a data folder that is
a file and a database a newer tweenlab migrated, two upgrades at once failing, and ``user
create`` dumping its INSERT (with the Argon2 hash) on PostgreSQL for a long name.
"""

from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from tweenlab.cli._ui import run_with_boundary
from tweenlab.cli.main import cli
from tweenlab.services.accounts import MAX_NAME_LENGTH
from tweenlab.settings import Settings
from tweenlab.store import Database, User, head_revision

from .conftest import PASSWORD, Api

SECRET = "Sup3rS3cret"


def run(args: list[str], monkeypatch: pytest.MonkeyPatch, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return run_with_boundary(cli, args)


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


@pytest.mark.parametrize(
    "command",
    [["db", "upgrade"], ["user", "create", "a@example.com", "--password-stdin"]],
    ids=["db-upgrade", "user-create"],
)
def test_an_unreachable_database_is_named_without_its_password_and_with_the_reason(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    del settings
    url = f"postgresql+psycopg://tweenlab:{SECRET}@127.0.0.1:1/tweenlab?connect_timeout=5"
    monkeypatch.setenv("TWEENLAB_DATABASE_URL", url)
    assert run(command, monkeypatch, f"{PASSWORD}\n") == 2
    line = one_line(capsys)
    assert SECRET not in line
    assert "postgresql+psycopg://tweenlab:***@127.0.0.1:1/tweenlab" in line
    assert "refused" in line.lower() or "failed" in line.lower(), line  # the driver's reason


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://u:{secret}@h/db", "unsupported database 'mysql'"),
        ("postgresql+psycopg://u:{secret}@h:notaport/db", "the port 'notaport' is not a number"),
        ("postgresql+pg8000://u:{secret}@h/db", "its driver is not installed"),
        ("sqlite:///{tmp}/notdb.db", "file is not a database"),
        (None, "is a file, not a folder"),
        ("sqlite:///{tmp}/afile/sub/tweenlab.db", "a folder above it is a file"),
    ],
    ids=["mysql", "port", "no-driver", "not-sqlite", "data-dir-is-a-file", "under-a-file"],
)
@pytest.mark.usefixtures("settings")
def test_db_upgrade_refuses_bad_settings_in_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    url: str | None,
    expected: str,
) -> None:
    (tmp_path / "notdb.db").write_text("not a database\n")
    (tmp_path / "afile").write_text("precious\n")
    if url is None:
        monkeypatch.setenv("TWEENLAB_DATA_DIR", str(tmp_path / "afile"))
    else:
        monkeypatch.setenv("TWEENLAB_DATABASE_URL", url.format(secret=SECRET, tmp=tmp_path))
    assert run(["db", "upgrade"], monkeypatch) == 2
    line = one_line(capsys)
    assert line.startswith("error: ") and expected in line, line
    assert SECRET not in line
    assert (tmp_path / "afile").read_text() == "precious\n"


def test_db_upgrade_refuses_a_database_a_newer_tweenlab_migrated(
    server_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with Database(server_settings.database) as db, db.engine.begin() as connection:
        connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
        connection.execute(text("INSERT INTO alembic_version VALUES ('9999future')"))
    assert run(["db", "upgrade"], monkeypatch) == 2
    line = one_line(capsys)
    assert f"at revision 9999future, newer than this tweenlab ({head_revision()})" in line


def test_db_upgrade_names_a_table_in_the_way(
    server_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with Database(server_settings.database) as db, db.engine.begin() as connection:
        connection.execute(text("CREATE TABLE users (id INTEGER)"))
    assert run(["db", "upgrade"], monkeypatch) == 2
    line = one_line(capsys)
    assert "cannot migrate" in line and "users" in line and "already exists" in line, line


def test_upgrades_at_once_take_turns(server_settings: Settings, tmp_path: Path) -> None:
    """Server replicas (or init containers) that all run ``db upgrade`` on a fresh database:
    one migrates, the others wait and find nothing to do (on PostgreSQL all but one failed with
    an ``IntegrityError`` before). Processes, as in a deployment (Alembic's context is global),
    each ready before a file tells them all to go."""
    go = tmp_path / "go"
    code = (
        "import sys, time, pathlib; from tweenlab.store import upgrade\n"
        "while not pathlib.Path(sys.argv[2]).exists(): time.sleep(0.005)\n"
        "print(upgrade(sys.argv[1]))"
    )
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", code, server_settings.database, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    time.sleep(3)  # time to import
    go.touch()
    answers = [done.communicate(timeout=120) for done in runs]
    assert [out.strip() for out, _ in answers] == [head_revision()] * 3, answers


def test_user_create_refuses_a_long_name_without_printing_the_insert(
    server_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same limits on SQLite (which stored a 100 KB name) and PostgreSQL (which failed with
    the statement and the new account's Argon2 hash in the message)."""
    assert run(["db", "upgrade"], monkeypatch) == 0
    capsys.readouterr()
    stdin = f"{PASSWORD}\n"
    name = "n" * (MAX_NAME_LENGTH + 1)
    args = ["user", "create", "b@example.com", "--password-stdin", "--name", name]
    assert run(args, monkeypatch, stdin) == 2
    line = one_line(capsys)
    assert line == f"error: name: at most {MAX_NAME_LENGTH} characters, not {len(name)}"
    email = "e" * 400 + "@example.com"
    assert run(["user", "create", email, "--password-stdin"], monkeypatch, stdin) == 2
    assert one_line(capsys) == f"error: email: at most 320 characters, not {len(email)}"
    long_local = "x" * 300 + "@e.com"  # fits the e-mail column; the name taken from it is cut
    assert run(["user", "create", long_local, "--password-stdin"], monkeypatch, stdin) == 0
    with Database(server_settings.database) as db, db.session() as session:
        names = {u.email: u.name for u in session.query(User)}
    assert names == {long_local: "x" * MAX_NAME_LENGTH}


def test_the_api_creates_an_account_whose_derived_name_is_too_long(api: Api) -> None:
    admin = api.account("root@example.com", admin=True)
    body = {"email": "x" * 300 + "@e.com", "password": PASSWORD}
    made = api.client.post("/api/users", json=body, headers=admin.headers)
    assert made.status_code == 201, made.text
    assert made.json()["name"] == "x" * MAX_NAME_LENGTH
