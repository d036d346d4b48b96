"""End to end through a real Postfix: a post in, tracked copies out, Postfix's own reports back.

A private Postfix (tests/postfix_harness.py) pipes the list address to `listtrack-ingest post`
and `bounce` (with `recipient_delimiter = +`) to `listtrack-ingest report`, as the deployment
guide says. listtrack sends the copies back through the same Postfix with DSN requests; the
subscribers are its own mailboxes: two that exist, one that does not (Postfix bounces it:
5.1.1), one whose delivery is deferred (a 4xx, so Postfix sends a delay DSN), one in digest
mode (registered, not sent). Every listtrack command runs as the Unix user the pipes run as.
Run alone with `pytest -m postfix`.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import http.cookiejar
import io
import json
import os
import re
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from email.utils import formatdate, make_msgid

import pytest

from tests.conftest import require_or_skip
from tests.postfix_harness import (
    BIN,
    HOSTNAME,
    LIST_DOMAIN,
    MAILBOX_DOMAIN,
    PostfixInstance,
    free_port,
    parse,
    pipe_user,
    postfix_instance,
    postfix_missing_reason,
    split_local_delivery_prefix,
)

pytestmark = pytest.mark.postfix

LIST = f"listtest@{LIST_DOMAIN}"
OWNER = f"owner@{MAILBOX_DOMAIN}"
OWNER_PASSWORD = "end-to-end owner password"
ALICE, CAROL = f"alice@{MAILBOX_DOMAIN}", f"carol@{MAILBOX_DOMAIN}"
UNKNOWN = f"nobody@{MAILBOX_DOMAIN}"  # no such mailbox: Postfix bounces it, 5.1.1
SLOW = f"slow@{MAILBOX_DOMAIN}"  # the retry transport answers 4.2.2: deferred
DIGEST = f"dora@{MAILBOX_DOMAIN}"  # digest mode: registered, not sent
STRANGER = f"stranger@{MAILBOX_DOMAIN}"  # not subscribed: may not post
GHOST_LIST = f"ghost@{LIST_DOMAIN}"  # an alias for a list that listtrack does not have
DEFERRED_REPLY = "4.2.2 mailbox full"
INGEST_REPORT = f"delivered to command: {BIN}/listtrack-ingest report"


def site_configuration(instance: PostfixInstance) -> str:
    return (f"domain {LIST_DOMAIN}\n"
            f"listmaster {OWNER}\n"
            "smtp_host 127.0.0.1\n"
            f"smtp_port {instance.port}\n"
            "tracking_delivery_status_notification on\n"
            "tracking_message_disposition_notification on\n")


@pytest.fixture(scope="module")
def postfix() -> Iterator[PostfixInstance]:
    """The private Postfix and a listtrack site set up with the guide's commands."""
    reason = postfix_missing_reason()
    if reason:
        require_or_skip(reason)
    mailboxes = [ALICE, CAROL, DIGEST, OWNER, STRANGER]
    with pipe_user() as user, postfix_instance(user, [LIST, GHOST_LIST], mailboxes,
                                               {SLOW: DEFERRED_REPLY}) as instance:
        config = instance.listtrack_dir / "listtrack.conf"
        config.write_text(site_configuration(instance))
        os.chown(config, instance.user.uid, instance.user.gid)
        config.chmod(0o640)
        instance.listtrack("db", "upgrade")
        instance.listtrack("user", "add", OWNER, "--password-stdin",
                           stdin=f"{OWNER_PASSWORD}\n".encode())
        instance.listtrack("list", "create", LIST, "--owner", OWNER, "--dsn", "on", "--mdn", "on")
        instance.listtrack("subscriber", "add", LIST, ALICE, CAROL, UNKNOWN, SLOW)
        instance.listtrack("subscriber", "add", LIST, DIGEST, "--reception", "digest")
        yield instance


def drain(instance: PostfixInstance) -> str:
    """`listtrack worker --once`: it works through every queue until a pass finds nothing."""
    return instance.listtrack("worker", "--once")


def tracking(instance: PostfixInstance, message_id: str) -> dict[str, dict]:
    """`listtrack tracking show LIST MESSAGE-ID --json` (JSON Lines), by recipient."""
    output = instance.listtrack("tracking", "show", LIST, message_id, "--json")
    rows = [json.loads(line) for line in output.splitlines() if line.strip()]
    return {row["recipient"]: row for row in rows}


def stored_reports(instance: PostfixInstance) -> list[dict]:
    """Every stored report, read from the database as the pipe user (who owns it)."""
    script = (
        "import base64, json\n"
        "from sqlalchemy import select\n"
        "from listtrack.config import load_site_config\n"
        "from listtrack.database import make_engine, make_session_factory\n"
        "from listtrack.models import Report\n"
        "engine = make_engine(load_site_config().db_url)\n"
        "with make_session_factory(engine)() as session:\n"
        "    print(json.dumps([{'kind': r.kind, 'sha256': r.sha256,\n"
        "        'raw': base64.b64encode(r.raw).decode(),\n"
        "        'mta_prefix': base64.b64encode(r.mta_prefix or b'').decode()}\n"
        "        for r in session.scalars(select(Report))]))\n"
    )
    output = instance.as_pipe_user([str(BIN / "python"), "-c", script]).stdout
    return [{**row, "raw": base64.b64decode(row["raw"]),
             "mta_prefix": base64.b64decode(row["mta_prefix"])} for row in json.loads(output)]


def show_in_log(capsys: pytest.CaptureFixture[str], title: str, raw: bytes) -> None:
    """Print a report to the test log itself (CI's log shows what Postfix wrote)."""
    with capsys.disabled():
        print(f"\n----- {title} ({len(raw)} bytes) -----")
        print(raw.decode("utf-8", "replace").rstrip("\n"))
        print("----- end -----")


def post_message(message_id: str) -> bytes:
    return (f"From: The Owner <{OWNER}>\r\n"
            f"To: {LIST}\r\n"
            "Subject: Board meeting on Thursday\r\n"
            f"Message-ID: {message_id}\r\n"
            f"Date: {formatdate(localtime=False)}\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "\r\n"
            "The board meets on Thursday at 18:00. Please confirm.\r\n").encode()


def reader_mdn(copy: bytes, reader: str) -> tuple[str, bytes]:
    """What a mail client sends when its user agrees to a read receipt (RFC 8098)."""
    headers = parse(copy)
    notify = headers["Disposition-Notification-To"]
    assert notify, "the delivered copy carries no Disposition-Notification-To"
    address = re.search(r"[^<>\s]+@[^<>\s]+", notify).group(0)
    boundary = "mdn-boundary-e2e"
    original_headers = copy.partition(b"\n\n")[0].decode("utf-8", "replace")
    mdn = (f"From: Alice <{reader}>\r\n"
           f"To: {notify}\r\n"
           f"Subject: Read: {headers['Subject']}\r\n"
           f"Message-ID: {make_msgid(domain=MAILBOX_DOMAIN)}\r\n"
           f"Date: {formatdate(localtime=False)}\r\n"
           "MIME-Version: 1.0\r\n"
           "Content-Type: multipart/report; report-type=disposition-notification;\r\n"
           f'\tboundary="{boundary}"\r\n'
           "\r\n"
           f"--{boundary}\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n\r\n"
           "The message was displayed on the recipient's screen.\r\n"
           f"--{boundary}\r\n"
           "Content-Type: message/disposition-notification\r\n\r\n"
           f"Reporting-UA: reader.{MAILBOX_DOMAIN}; scripted reader\r\n"
           f"Original-Recipient: rfc822;{reader}\r\n"
           f"Final-Recipient: rfc822;{reader}\r\n"
           f"Original-Message-ID: {headers['Message-ID']}\r\n"
           "Disposition: manual-action/MDN-sent-manually; displayed\r\n"
           f"\r\n--{boundary}\r\n"
           "Content-Type: text/rfc822-headers\r\n\r\n"
           f"{original_headers.replace(chr(10), chr(13) + chr(10))}\r\n"
           f"--{boundary}--\r\n")
    return address, mdn.encode()


def test_a_post_through_postfix_is_tracked_from_postfix_own_reports(
        postfix: PostfixInstance, capsys: pytest.CaptureFixture[str]) -> None:
    message_id = make_msgid(idstring="board", domain=MAILBOX_DOMAIN)
    bare_id = message_id.strip("<>")
    start = len(postfix.log())

    # 1. The owner posts to the list through Postfix; the alias pipes it to listtrack-ingest.
    postfix.submit(OWNER, [LIST], post_message(message_id))
    postfix.wait_for("the post to be piped to listtrack-ingest post", lambda: postfix.log_count(
        rf"to=<{LIST}>, relay=local, .*status=sent \(delivered to command: \S*listtrack-ingest "
        rf"post {LIST}\)") == 1, since=start)

    # 2. The worker distributes it back through Postfix with DSN requests; Postfix writes a
    #    DSN for each copy (success x2, failure, delay) and pipes it to listtrack-ingest report.
    drain(postfix)
    postfix.wait_for("four DSNs piped to listtrack-ingest report",
                     lambda: postfix.log_count(re.escape(INGEST_REPORT)) >= 4, since=start)
    drain(postfix)

    rows = tracking(postfix, bare_id)
    assert set(rows) == {ALICE, CAROL, UNKNOWN, SLOW, DIGEST}
    for delivered in (ALICE, CAROL):
        assert rows[delivered]["status"] == "delivered", rows[delivered]
        assert rows[delivered]["status_code"] == "2.0.0"
    assert rows[UNKNOWN]["status"] == "failed", rows[UNKNOWN]
    assert rows[UNKNOWN]["status_code"] == "5.1.1"
    assert f'unknown user: "{UNKNOWN}"' in rows[UNKNOWN]["diagnostic"]
    assert rows[SLOW]["status"] == "delayed", rows[SLOW]
    assert rows[SLOW]["status_code"] == "4.2.2"
    assert "mailbox full" in rows[SLOW]["diagnostic"]
    assert rows[DIGEST]["status"] == "digest" and rows[DIGEST]["reception"] == "digest"
    assert f"to=<{DIGEST}>" not in postfix.log(), "the digest subscriber got a copy"
    assert postfix.mailbox(DIGEST) == []

    # 3. Each copy went out with its own VERP return path, which Postfix's DSN echoes.
    alice_copy = postfix.mailbox(ALICE)[0]
    return_path = parse(alice_copy)["Return-Path"].strip("<>")
    assert re.fullmatch(rf"bounce\+[0-9a-z]+-[a-z2-7]+@{re.escape(LIST_DOMAIN)}", return_path)
    assert parse(alice_copy)["Message-ID"] == message_id
    assert parse(alice_copy)["Disposition-Notification-To"].strip("<> ") == return_path

    # 4. The stored evidence is Postfix's message byte for byte: what local(8) piped, less
    #    the lines local(8) itself puts in front (kept apart as the MTA prefix).
    piped = postfix.copies()
    assert len(piped) == 4
    reports = {report["sha256"]: report for report in stored_reports(postfix)}
    actions = []
    for copy in piped:
        prefix, written = split_local_delivery_prefix(copy)
        show_in_log(capsys, "DSN written by Postfix, as piped to listtrack-ingest report", copy)
        assert parse(written)["Received"].startswith(f"by {HOSTNAME} (Postfix)")
        text = written.decode("utf-8", "replace")
        assert f"Reporting-MTA: dns; {HOSTNAME}" in text
        # What Postfix echoes proves the DSN parameters of each copy: ENVID (the VERP
        # token), ORCPT, RET=HDRS (headers only come back), NOTIFY (the actions below).
        token = parse(written)["To"].partition("+")[2].partition("@")[0]
        assert f"\nOriginal-Envelope-Id: {token}\n" in text
        assert re.search(rf"\nOriginal-Recipient: rfc822;\S+@{MAILBOX_DOMAIN}\n", text)
        assert "Content-Type: text/rfc822-headers" in text
        assert "Content-Type: message/rfc822" not in text
        actions += re.findall(r"\nAction: (\w+)\n", text)
        stored = reports.get(hashlib.sha256(written).hexdigest())
        assert stored is not None, "a DSN that Postfix piped was not stored byte for byte"
        assert stored["raw"] == written
        # local(8) stamps its "From " line per delivery; the recorder's may be a second later.
        from_line, _, delivery_headers = prefix.partition(b"\n")
        assert stored["mta_prefix"].partition(b"\n")[2] == delivery_headers
        assert stored["mta_prefix"].startswith(from_line.rsplit(b" ", 5)[0] + b" ")
        assert stored["kind"] == "dsn"
    assert sorted(actions) == ["delayed", "delivered", "delivered", "failed"]

    # 5. Alice's mail client sends a read receipt to the address the copy names, through
    #    Postfix; it is piped to listtrack-ingest report and Alice shows `displayed`.
    notify_address, mdn = reader_mdn(alice_copy, ALICE)
    postfix.submit("", [notify_address], mdn)
    postfix.wait_for("the MDN to be piped to listtrack-ingest report",
                     lambda: postfix.log_count(re.escape(INGEST_REPORT)) >= 5, since=start)
    drain(postfix)
    rows = tracking(postfix, bare_id)
    assert rows[ALICE]["status"] == "displayed", rows[ALICE]
    assert rows[CAROL]["status"] == "delivered"
    mdn_copy = postfix.copies()[-1]
    show_in_log(capsys, "MDN relayed by Postfix", mdn_copy)
    stored = {report["raw"] for report in stored_reports(postfix)}
    assert split_local_delivery_prefix(mdn_copy)[1] in stored

    # 6. The owner sees the same in the web panel, served by gunicorn over HTTP.
    exported = panel_export(postfix, bare_id)
    assert {row["recipient"]: row["status"] for row in exported} == {
        ALICE: "displayed", CAROL: "delivered", UNKNOWN: "failed", SLOW: "delayed",
        DIGEST: "digest"}


@pytest.mark.parametrize(("list_address", "sender", "status", "reason"), [
    (LIST, STRANGER, "5.7.0", rf"post to {LIST} refused: .*{STRANGER}"),  # exit 77
    (GHOST_LIST, OWNER, "5.1.1", rf"no list {GHOST_LIST}"),  # exit 67
], ids=["refused-by-send-policy", "unknown-list"])
def test_a_post_listtrack_refuses_is_bounced_by_postfix_with_the_reason(
        postfix: PostfixInstance, capsys: pytest.CaptureFixture[str], list_address: str,
        sender: str, status: str, reason: str) -> None:
    """Exit 77 or 67 from the pipe: Postfix bounces the post; its DSN carries our one line."""
    message_id = make_msgid(idstring="refused", domain=MAILBOX_DOMAIN)
    post = post_message(message_id).replace(f"The Owner <{OWNER}>".encode(), sender.encode())
    already = len(postfix.mailbox(sender))
    postfix.submit(sender, [list_address], post)
    postfix.wait_for("Postfix to bounce the post", lambda: len(postfix.mailbox(sender)) > already,
                     fail_on_local_failure=False)
    bounce = postfix.mailbox(sender)[-1]
    show_in_log(capsys, f"Postfix's bounce of a post to {list_address}", bounce)
    text = re.sub(r"\s+", " ", bounce.decode("utf-8", "replace"))  # unfolded
    assert f"Final-Recipient: rfc822; {list_address} Original-Recipient: " \
           f"rfc822;{list_address} Action: failed Status: {status}" in text
    assert re.search(rf"Diagnostic-Code: x-unix; listtrack-ingest: {reason}", text)
    assert "Traceback" not in text


def panel_export(instance: PostfixInstance, message_id: str) -> list[dict[str, str]]:
    """Start gunicorn as the guide says, sign in as the owner, fetch the panel and its CSV."""
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "webapp:create_app()"],
        cwd=instance.listtrack_dir, user=instance.user.uid, group=instance.user.gid,
        extra_groups=[], env={"PATH": f"{BIN}:/usr/bin:/bin", "LANG": "C.UTF-8",
                              "LISTTRACK_INSTANCE": str(instance.listtrack_dir)},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        browser = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        login_page = wait_for_page(browser, f"{base}/login", server)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page).group(1)
        form = urllib.parse.urlencode({"email": OWNER, "password": OWNER_PASSWORD,
                                       "csrf_token": token}).encode()
        browser.open(f"{base}/login", data=form, timeout=30).read()
        panel = f"{base}/lists/{LIST}/msg/{urllib.parse.quote(message_id)}/tracking"
        page = browser.open(panel, timeout=30).read().decode()
        for word in ("delivered", "failed", "delayed", "displayed"):
            assert word in page.lower(), f"the panel does not show '{word}'"
        exported = browser.open(f"{panel}/export.csv", timeout=30).read().decode()
        return list(csv.DictReader(io.StringIO(exported)))
    finally:
        server.terminate()
        server.wait(timeout=30)


def wait_for_page(browser: urllib.request.OpenerDirector, url: str,
                  server: subprocess.Popen) -> str:
    deadline = time.monotonic() + 60
    while True:
        try:
            return browser.open(url, timeout=10).read().decode()
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                output = server.stdout.read().decode() if server.poll() is not None else ""
                raise AssertionError(f"gunicorn did not serve {url}:\n{output}") from None
            time.sleep(0.3)
