"""Importing existing archives: mbox reading (mboxrd/mboxo, LF/CRLF, Mailman and Sympa
samples) and the `listtrack import-mbox` command, run as the real console script."""

from __future__ import annotations

import io
import subprocess

import pytest
from sqlalchemy import func, select

from listtrack.lists import create_list
from listtrack.mbox import NotAnMbox, read_archive_file, read_mbox, sympa_archive_files
from listtrack.models import Message

LIST = "members@lists.example.org"

# What Mailman 2's pipermail keeps in archives/private/<list>.mbox/<list>.mbox (mboxo):
# "From " lines with "at" in the address, a body line starting with "From " escaped once,
# one that really began with ">From " left alone, and a message without Message-ID.
MAILMAN_MBOX = b"""From alice at example.org  Mon Jan  5 10:00:00 2026
From: alice at example.org (Alice)
Date: Mon, 05 Jan 2026 10:00:00 +0000
Subject: [Members] Welcome
Message-ID: <welcome@example.org>

Hello all.
>From now on we meet on Mondays.
>>From the minutes: nothing.

From bob at example.org  Tue Jan  6 11:30:00 2026
From: bob at example.org (Bob)
Date: Tue, 06 Jan 2026 11:30:00 +0000
Subject: Re: [Members] Welcome
Message-ID: <reply@example.org>
In-Reply-To: <welcome@example.org>
References: <welcome@example.org>

Thanks Alice.
From the sound of it, Mondays are fine.

From carol at example.org  Wed Jan  7 09:15:00 2026
From: carol at example.org (Carol)
Date: Wed, 07 Jan 2026 09:15:00 +0000
Subject: [Members] No identifier here

This message has no Message-ID header.

"""

# An mboxrd export (as Sympa's and most tools' exports are), with CRLF line ends.
SYMPA_MBOXRD = (
    b"From sympa@lists.example.org Thu Feb  5 08:00:00 2026\r\n"
    b"From: Dan <dan@example.org>\r\nDate: Thu, 05 Feb 2026 08:00:00 +0000\r\n"
    b"Subject: Agenda\r\nMessage-ID: <agenda@example.org>\r\n\r\n"
    b"Points:\r\n>From the board\r\n>>From the treasurer\r\n\r\n"
    b"From sympa@lists.example.org Fri Feb  6 08:00:00 2026\r\n"
    b"From: Eve <eve@example.org>\r\nDate: Fri, 06 Feb 2026 08:00:00 +0000\r\n"
    b"Subject: Minutes\r\nMessage-ID: <minutes@example.org>\r\n\r\nDone.\r\n"
)


def test_mboxo_unescapes_only_one_level_and_keeps_unescaped_body_lines():
    messages = list(read_mbox(io.BytesIO(MAILMAN_MBOX), "mboxo"))
    assert len(messages) == 3
    first, second, third = (message.raw for message in messages)
    assert first.endswith(b"Hello all.\nFrom now on we meet on Mondays.\n"
                          b">>From the minutes: nothing.\n")
    assert b"From the sound of it, Mondays are fine.\n" in second  # not a separator
    assert not first.endswith(b"\n\n")  # the separator's blank line is not the message's
    assert messages[0].envelope == b"From alice at example.org  Mon Jan  5 10:00:00 2026"
    assert third.startswith(b"From: carol at example.org")
    assert messages[-1].end_offset == len(MAILMAN_MBOX)


def test_mboxrd_unescapes_every_level_and_keeps_crlf():
    messages = list(read_mbox(io.BytesIO(SYMPA_MBOXRD)))
    assert [m.raw.split(b"Message-ID: ")[1].split(b"\r\n")[0] for m in messages] == \
        [b"<agenda@example.org>", b"<minutes@example.org>"]
    assert b"Points:\r\nFrom the board\r\n>From the treasurer\r\n" in messages[0].raw
    assert messages[0].raw.endswith(b"treasurer\r\n")
    assert messages[1].raw.endswith(b"Done.\r\n")


def test_not_an_mbox_and_empty_files():
    with pytest.raises(NotAnMbox, match="should start with a 'From ' line"):
        list(read_mbox(io.BytesIO(b"Subject: hello\n\nbody\n")))
    assert list(read_mbox(io.BytesIO(b""))) == []
    assert len(list(read_mbox(io.BytesIO(b"\n\n" + SYMPA_MBOXRD)))) == 2
    with pytest.raises(ValueError, match="mbox format"):
        list(read_mbox(io.BytesIO(SYMPA_MBOXRD), "mboxcl"))


def test_sympa_archive_folder_is_read_in_archive_order(tmp_path):
    for month, numbers in (("2026-02", (2, 10, 1)), ("2026-01", (1,))):
        folder = tmp_path / month / "arctxt"
        folder.mkdir(parents=True)
        for number in numbers:
            (folder / str(number)).write_bytes(
                f"Message-ID: <{month}-{number}@x>\nSubject: {number}\n\nbody\n".encode())
    (tmp_path / "2026-02" / "index").write_text("not a message")
    files = sympa_archive_files(tmp_path)
    assert [f"{p.parent.parent.name}/{p.name}" for p in files] == \
        ["2026-01/1", "2026-02/1", "2026-02/2", "2026-02/10"]
    envelope = tmp_path / "with-envelope"
    envelope.write_bytes(b"From x@y Mon Jan  5 10:00:00 2026\nSubject: s\n\nb\n")
    assert read_archive_file(envelope) == b"Subject: s\n\nb\n"


def run_import(cli_env, *arguments: str) -> subprocess.CompletedProcess:  # noqa: ANN001
    return subprocess.run(["listtrack", "import-mbox", *arguments], capture_output=True,
                          text=True, env=cli_env, timeout=120)


def archived(session) -> list[Message]:  # noqa: ANN001
    session.expire_all()
    return list(session.scalars(select(Message).order_by(Message.date)))


@pytest.mark.all_databases
def test_import_mbox_command_is_idempotent(session, cli_env, tmp_path):
    create_list(session, LIST, ["owner@example.org"])
    session.commit()
    mbox = tmp_path / "members.mbox"
    mbox.write_bytes(MAILMAN_MBOX)

    first = run_import(cli_env, LIST, str(mbox), "--format", "mboxo")
    assert first.returncode == 0, first.stderr
    assert "Importing members.mbox" in first.stdout  # the progress bar's label
    assert f"imported 3 message(s) into {LIST}; 0 already in the archive" in first.stdout
    messages = archived(session)
    assert [m.subject for m in messages] == ["[Members] Welcome", "Re: [Members] Welcome",
                                             "[Members] No identifier here"]
    welcome, reply, anonymous = messages
    assert reply.parent_id == welcome.id and reply.thread_id == welcome.id
    assert anonymous.message_id.startswith("<listtrack.")
    assert b"\nFrom now on we meet on Mondays." in welcome.raw
    assert "Mondays" in welcome.body_text

    again = run_import(cli_env, LIST, str(mbox), "--format", "mboxo")
    assert again.returncode == 0, again.stderr
    assert f"nothing new: all 3 message(s) were already in the archive of {LIST}" \
        in again.stdout
    assert session.scalar(select(func.count()).select_from(Message)) == 3

    more = tmp_path / "more.mbox"
    more.write_bytes(SYMPA_MBOXRD.replace(b"<minutes@example.org>", b"<welcome@example.org>"))
    partly = run_import(cli_env, LIST, str(more))
    assert partly.returncode == 0, partly.stderr
    assert "imported 1 message(s)" in partly.stdout and "1 already in the archive" in partly.stdout


def test_import_sympa_folder_and_bad_input(session, cli_env, tmp_path):
    create_list(session, LIST, ["owner@example.org"])
    session.commit()
    folder = tmp_path / "arc" / "2026-02" / "arctxt"
    folder.mkdir(parents=True)
    for number, message in enumerate(SYMPA_MBOXRD.split(b"\r\n\r\nFrom sympa")):
        body = message.split(b"\r\n", 1)[1]
        (folder / str(number + 1)).write_bytes(body)
    result = run_import(cli_env, LIST, str(tmp_path / "arc"))
    assert result.returncode == 0, result.stderr
    assert "imported 2 message(s)" in result.stdout
    assert [m.subject for m in archived(session)] == ["Agenda", "Minutes"]

    not_mbox = tmp_path / "notes.txt"
    not_mbox.write_text("Subject: not an mbox\n\nhello\n")
    refused = run_import(cli_env, LIST, str(not_mbox))
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        f"Error: {not_mbox}: not an mbox file: it should start with a 'From ' line, "
        "not 'Subject: not an mbox'"]

    assert "Traceback" not in refused.stderr


def test_import_mbox_refuses_unknown_lists_and_missing_files(session, runner, tmp_path):
    """The same command in-process (Flask's CLI runner), for the quick refusals."""
    from webapp.cli import cli

    create_list(session, LIST, ["owner@example.org"])
    session.commit()
    mbox = tmp_path / "a.mbox"
    mbox.write_bytes(SYMPA_MBOXRD)
    unknown = runner.invoke(cli, args=["import-mbox", "nobody@lists.example.org", str(mbox)])
    assert unknown.exit_code == 1 and "no list nobody@lists.example.org" in unknown.output
    missing = runner.invoke(cli, args=["import-mbox", LIST, str(tmp_path / "missing.mbox")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = runner.invoke(cli, args=["import-mbox", LIST, str(empty)])
    assert nothing.exit_code == 1 and "no archived message files found" in nothing.output
    blank = tmp_path / "blank.mbox"
    blank.write_bytes(b"")
    nothing_there = runner.invoke(cli, args=["import-mbox", LIST, str(blank)])
    assert "no message found in" in nothing_there.output
    assert session.scalar(select(func.count()).select_from(Message)) == 0


def test_a_folder_of_several_lists_archives_is_not_walked(tmp_path):
    """Sympa's `arc/` root holds every list: importing it into one list must find nothing."""
    from listtrack.mbox import sympa_archive_files

    for list_folder in ("a@lists.example.org", "b@lists.example.org"):
        month = tmp_path / list_folder / "2026-11" / "arctxt"
        month.mkdir(parents=True)
        (month / "1").write_bytes(b"Subject: x\r\n\r\nbody\r\n")
    assert sympa_archive_files(tmp_path) == []
    assert [p.name for p in sympa_archive_files(tmp_path / "a@lists.example.org")] == ["1"]
    assert [p.name for p in sympa_archive_files(
        tmp_path / "a@lists.example.org" / "2026-11" / "arctxt")] == ["1"]
