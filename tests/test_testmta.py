"""The loopback test MTA, spoken to over real sockets with smtplib, its reports parsed back."""

from __future__ import annotations

import email
import email.policy
import os
import signal
import smtplib
import socket
import subprocess
import sys
import textwrap
from collections import Counter
from email.message import EmailMessage, Message
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from ingest.testmta import (
    Behaviour,
    Kind,
    LoopbackMTA,
    Outcome,
    ReportCollector,
    behaviour_from_local_part,
    demo_rule,
    handoff_command,
    xtext_decode,
    xtext_encode,
)
from ingest.testmta.esmtp_parameters import read_rcpt_parameters, split_parameters

SENDER = "bounce+Tok3n@lists.example.org"
ALL_EVENTS = "NOTIFY=SUCCESS,FAILURE,DELAY"
REPO = Path(__file__).resolve().parents[1]


def copy(subject: str = "Lunch on Friday", *, receipt: bool = False, extra: str = "") -> bytes:
    """A list copy as listtrack's worker sends it."""
    headers = [
        "From: Ada <ada@example.com>",
        "To: team@lists.example.org",
        f"Subject: {subject}",
        "Message-ID: <m1.abc@lists.example.org>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]
    if receipt:
        headers.append(f"Disposition-Notification-To: {SENDER}")
    body = "See you there.\r\n" + extra
    return ("\r\n".join(headers) + "\r\n\r\n" + body).encode("utf-8")


def send(
    mta: LoopbackMTA,
    rcpt: str,
    message: bytes | None = None,
    *,
    mail_options: tuple[str, ...] = ("RET=HDRS", "ENVID=Tok3n"),
    rcpt_options: tuple[str, ...] | None = None,
    sender: str = SENDER,
) -> None:
    """One transaction for one recipient, the way listtrack sends."""
    if rcpt_options is None:
        rcpt_options = (ALL_EVENTS, f"ORCPT=rfc822;{xtext_encode(rcpt)}")
    with smtplib.SMTP("127.0.0.1", mta.port, timeout=10) as client:
        client.sendmail(sender, [rcpt], message or copy(), list(mail_options), list(rcpt_options))


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def part_of(message: Message, content_type: str) -> Message:
    return next(part for part in message.walk() if part.get_content_type() == content_type)


def dsn_fields(raw: bytes) -> tuple[EmailMessage, dict[str, str], list[dict[str, str]]]:
    """The DSN, its per-message fields, its per-recipient field groups."""
    message = parse(raw)
    blocks = part_of(message, "message/delivery-status").get_payload()
    per_message, *per_recipient = ({k: str(v) for k, v in block.items()} for block in blocks)
    return message, per_message, per_recipient


def mdn_fields(raw: bytes) -> tuple[EmailMessage, dict[str, str]]:
    message = parse(raw)
    notification = part_of(message, "message/disposition-notification").get_payload(0)
    return message, {k: str(v) for k, v in notification.items()}


@pytest.fixture
def mta():
    with LoopbackMTA() as server:
        yield server


# -- the SMTP dialogue ----------------------------------------------------------------------


def test_ehlo_advertises_dsn_and_the_other_extensions(mta):
    with smtplib.SMTP("127.0.0.1", mta.port) as client:
        code, _ = client.ehlo("lists.example.org")
        assert code == 250
        for keyword in ("dsn", "8bitmime", "smtputf8", "pipelining", "size"):
            assert client.has_extn(keyword), keyword


def test_parameters_are_recorded_exactly_with_case_and_xtext(mta):
    with smtplib.SMTP("127.0.0.1", mta.port) as client:
        client.ehlo("lists.example.org")
        assert client.docmd(f"MAIL FROM:<{SENDER}> RET=hdrs ENVID=Ab+2BcD")[0] == 250
        reply = client.docmd(
            "RCPT TO:<Alice@Example.org> NOTIFY=success,FAILURE ORCPT=rfc822;a+2Bb@example.org"
        )
        assert reply[0] == 250
        assert client.data(copy())[0] == 250

    (tx,) = mta.transactions
    assert tx.mail_from == SENDER
    assert [(p.keyword, p.value) for p in tx.mail_params] == [("RET", "hdrs"), ("ENVID", "Ab+2BcD")]
    assert tx.envid == "Ab+2BcD" and tx.dsn.envid_decoded == "Ab+cD"
    assert tx.ret == "HDRS" and tx.param("envid") == "Ab+2BcD"
    (rcpt,) = tx.recipients
    assert rcpt.address == "Alice@Example.org"
    assert [(p.keyword, p.value) for p in rcpt.params] == [
        ("NOTIFY", "success,FAILURE"),
        ("ORCPT", "rfc822;a+2Bb@example.org"),
    ]
    assert rcpt.notify == ("SUCCESS", "FAILURE")
    assert rcpt.orcpt == "rfc822;a+2Bb@example.org"
    assert rcpt.dsn.orcpt_decoded == "rfc822;a+b@example.org"
    assert rcpt.dsn.orcpt_address == "a+b@example.org"
    assert tx.data == copy()
    assert tx.outcome is Outcome.ACCEPTED and tx.queue_id
    assert tx.connection_id >= 1 and tx.helo == "lists.example.org"
    assert tx.started_at <= tx.received_at


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (f"MAIL FROM:<{SENDER}> ENVID=ab+2bc", 501),  # xtext hex digits are upper case
        (f"MAIL FROM:<{SENDER}> ENVID=" + "x" * 101, 501),
        (f"MAIL FROM:<{SENDER}> RET=BODY", 501),
        (f"MAIL FROM:<{SENDER}> RET=FULL RET=HDRS", 501),
        (f"MAIL FROM:<{SENDER}> BODY=BINARYMIME", 501),
        (f"MAIL FROM:<{SENDER}> SIZE=99999999999", 552),
        (f"MAIL FROM:<{SENDER}> X-UNKNOWN=1", 555),
    ],
)
def test_bad_mail_parameters_are_refused(mta, command, code):
    with smtplib.SMTP("127.0.0.1", mta.port) as client:
        client.ehlo()
        assert client.docmd(command)[0] == code


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ("NOTIFY=NEVER,SUCCESS", 501),
        ("NOTIFY=SUCCESS,SOMETIMES", 501),
        ("NOTIFY=", 501),
        ("ORCPT=a@example.org", 501),
        ("ORCPT=rfc822;a+zzb@example.org", 501),
        ("NOTIFY=SUCCESS NOTIFY=DELAY", 501),
        ("FOO=BAR", 555),
    ],
)
def test_bad_rcpt_parameters_are_refused(mta, params, code):
    with smtplib.SMTP("127.0.0.1", mta.port) as client:
        client.ehlo()
        assert client.docmd(f"MAIL FROM:<{SENDER}>")[0] == 250
        assert client.docmd(f"RCPT TO:<a@example.org> {params}")[0] == code


def test_without_dsn_the_dsn_parameters_get_555():
    with LoopbackMTA(advertise_dsn=False) as mta, smtplib.SMTP("127.0.0.1", mta.port) as client:
        client.ehlo()
        assert not client.has_extn("dsn")
        assert client.docmd(f"MAIL FROM:<{SENDER}> RET=HDRS")[0] == 555
        assert client.docmd(f"MAIL FROM:<{SENDER}> ENVID=x")[0] == 555
        assert client.docmd(f"MAIL FROM:<{SENDER}> BODY=8BITMIME")[0] == 250
        code, text = client.docmd("RCPT TO:<a@example.org> NOTIFY=SUCCESS")
        assert code == 555 and b"NOTIFY" in text
        assert client.docmd("RCPT TO:<a@example.org> ORCPT=rfc822;a@example.org")[0] == 555
        assert client.docmd("RCPT TO:<a@example.org>")[0] == 250


def test_pipelined_commands_are_answered_in_order(mta):
    with socket.create_connection(("127.0.0.1", mta.port), timeout=10) as sock:
        replies = sock.makefile("rb")
        assert replies.readline().startswith(b"220 ")
        sock.sendall(b"EHLO lists.example.org\r\n")
        while not replies.readline().startswith(b"250 "):
            pass
        sock.sendall(
            f"MAIL FROM:<{SENDER}> RET=HDRS ENVID=P1\r\n"
            "RCPT TO:<refuse-a@example.net> NOTIFY=SUCCESS\r\n"
            "RCPT TO:<b@example.net> NOTIFY=SUCCESS\r\n"
            "DATA\r\n".encode()
        )
        codes = [replies.readline()[:3] for _ in range(4)]
        assert codes == [b"250", b"550", b"250", b"354"]
        sock.sendall(copy() + b"\r\n.\r\nQUIT\r\n")
        assert replies.readline().startswith(b"250 2.0.0 Ok: queued as ")
    assert mta.wait_idle(5)
    assert [r.about for r in mta.report_log] == ["b@example.net"]


def test_utf8_orcpt_is_decoded():
    params = split_parameters(r"NOTIFY=DELAY ORCPT=utf-8;j\x{E9}r\x{F4}me@example.org")
    rcpt = read_rcpt_parameters(params, dsn_enabled=True, smtputf8=True)
    assert rcpt.orcpt == r"utf-8;j\x{E9}r\x{F4}me@example.org"
    assert rcpt.orcpt_decoded == "utf-8;jérôme@example.org"


def test_xtext_round_trip():
    assert xtext_decode("Ab+2BcD") == "Ab+cD"
    assert xtext_encode("a+b=c d") == "a+2Bb+3Dc+20d"
    assert xtext_decode(xtext_encode("bounce+x=y@ex ample.org")) == "bounce+x=y@ex ample.org"


# -- behaviours and their reports -----------------------------------------------------------


def test_delivered_with_notify_success_sends_a_success_dsn(mta):
    send(mta, "alice@example.net")
    assert mta.wait_idle(5)

    ((to, raw),) = mta.reports_sent
    assert to == SENDER
    message, per_message, (rcpt,) = dsn_fields(raw)
    assert message.get_content_type() == "multipart/report"
    assert message.get_param("report-type") == "delivery-status"
    assert message["Subject"] == "Successful Mail Delivery Report"
    assert message["To"] == SENDER
    assert message["From"].addresses[0].username == "MAILER-DAEMON"
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["Message-Id"] and message["Date"]
    assert per_message["Original-Envelope-Id"] == "Tok3n"
    assert per_message["Reporting-MTA"] == "dns; mx.example.net"
    assert parsedate_to_datetime(per_message["Arrival-Date"]).tzinfo is not None
    assert rcpt["Final-Recipient"] == "rfc822; alice@example.net"
    assert rcpt["Original-Recipient"] == "rfc822;alice@example.net"
    assert rcpt["Action"] == "delivered"
    assert rcpt["Status"] == "2.0.0"
    returned = part_of(message, "text/rfc822-headers").get_content()
    assert "Message-ID: <m1.abc@lists.example.org>" in returned
    assert "See you there" not in returned
    assert [part.get_content_type() for part in message.iter_parts()] == [
        "text/plain",
        "message/delivery-status",
        "text/rfc822-headers",
    ]


def test_notify_failure_only_gives_no_success_report(mta):
    send(mta, "alice@example.net", rcpt_options=("NOTIFY=FAILURE",))
    send(mta, "bob@example.net", rcpt_options=())  # no NOTIFY: failures and delays only
    send(mta, "fail-carol@example.net", rcpt_options=("NOTIFY=NEVER",))
    assert mta.wait_idle(5)
    assert mta.reports_sent == []
    assert len(mta.transactions) == 3


def test_null_sender_never_gets_a_dsn(mta):
    send(mta, "fail-dan@example.net", sender="", mail_options=())
    assert mta.wait_idle(5)
    assert mta.reports_sent == []


def test_xtext_envid_is_returned_decoded(mta):
    send(mta, "alice@example.net", mail_options=("RET=HDRS", "ENVID=Ab+2BcD"))
    assert mta.wait_idle(5)
    _, per_message, _ = dsn_fields(mta.reports_sent[0][1])
    assert per_message["Original-Envelope-Id"] == "Ab+cD"  # RFC 3461 6.3(a): decoded


def test_refused_at_rcpt_answers_550_and_reports_nothing(mta):
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(mta, "refuse-erin@example.net")
    code, text = refused.value.recipients["refuse-erin@example.net"]
    assert code == 550 and text.startswith(b"5.1.1 <refuse-erin@example.net>")
    assert mta.wait_idle(5) and mta.reports_sent == []
    (tx,) = mta.transactions
    assert tx.outcome is Outcome.ABORTED and not tx.recipients[0].accepted


def test_tempfail_answers_450_until_its_tries_are_used(mta):
    for _ in range(2):
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            send(mta, "tempfail2-fay@example.net")
        assert refused.value.recipients["tempfail2-fay@example.net"][0] == 450
    send(mta, "tempfail2-fay@example.net")
    assert mta.wait_idle(5)
    assert [r.label for r in mta.report_log] == ["dsn-delivered"]


def test_drop_at_rcpt_then_delivered_on_retry(mta):
    with pytest.raises(smtplib.SMTPServerDisconnected):
        send(mta, "drop1-gus@example.net")
    send(mta, "drop1-gus@example.net")
    assert mta.wait_idle(5)
    dropped, delivered = mta.transactions
    assert dropped.outcome is Outcome.DROPPED and dropped.recipients[0].reply is None
    assert delivered.outcome is Outcome.ACCEPTED
    assert len(mta.reports_sent) == 1


def test_drop_at_data_takes_the_message_but_never_answers(mta):
    with pytest.raises(smtplib.SMTPServerDisconnected):
        send(mta, "dropdata-hal@example.net")
    assert mta.wait_idle(5) and mta.reports_sent == []
    (tx,) = mta.transactions
    assert tx.outcome is Outcome.DROPPED and tx.data == copy()


def test_failure_dsn_after_acceptance(mta):
    send(mta, "fail-ivy@example.net")
    assert mta.wait_idle(5)
    ((to, raw),) = mta.reports_sent
    message, per_message, (rcpt,) = dsn_fields(raw)
    assert to == SENDER
    assert message["Subject"] == "Undelivered Mail Returned to Sender"
    assert per_message["Original-Envelope-Id"] == "Tok3n"
    assert rcpt["Final-Recipient"] == "rfc822; fail-ivy@example.net"
    assert rcpt["Original-Recipient"] == "rfc822;fail-ivy@example.net"
    assert rcpt["Action"] == "failed"
    assert rcpt["Status"] == "5.1.1"
    assert rcpt["Remote-MTA"] == "dns; mailstore.example.net"
    assert rcpt["Diagnostic-Code"].startswith("smtp; 550 5.1.1 <fail-ivy@example.net>:")
    headers = part_of(message, "text/rfc822-headers")  # RET=HDRS
    assert headers["Content-Description"] == "Undelivered Message Headers"
    assert "See you there" not in headers.get_content()


def test_ret_full_returns_the_whole_message(mta):
    send(mta, "fail-jo@example.net", mail_options=("RET=FULL", "ENVID=Tok3n"))
    assert mta.wait_idle(5)
    message = parse(mta.reports_sent[0][1])
    returned = part_of(message, "message/rfc822")
    inner = returned.get_payload(0)
    assert inner["Message-ID"] == "<m1.abc@lists.example.org>"
    assert inner.get_content().strip() == "See you there."


def test_delay_then_success_in_that_order(mta):
    send(mta, "delay-kim@example.net")
    assert mta.wait_idle(5)
    assert [r.label for r in mta.reports_about("delay-kim@example.net")] == [
        "dsn-delayed",
        "dsn-delivered",
    ]
    delayed, delivered = (dsn_fields(raw) for _, raw in mta.reports_sent)
    message, per_message, (rcpt,) = delayed
    assert message["Subject"] == "Delayed Mail (still being retried)"
    assert per_message["Original-Envelope-Id"] == "Tok3n"
    assert rcpt["Action"] == "delayed"
    assert rcpt["Status"].startswith("4.")
    assert rcpt["Diagnostic-Code"].startswith("smtp; 452 4.2.2")
    until = parsedate_to_datetime(rcpt["Will-Retry-Until"])
    assert until > parsedate_to_datetime(rcpt["Last-Attempt-Date"])
    assert delivered[2][0]["Action"] == "delivered"


@pytest.mark.parametrize(
    ("notify", "labels"),
    [
        ("NOTIFY=SUCCESS", ["dsn-delivered"]),
        ("NOTIFY=DELAY", ["dsn-delayed"]),
        ("NOTIFY=FAILURE", []),
        ("NOTIFY=DELAY,SUCCESS", ["dsn-delayed", "dsn-delivered"]),
    ],
)
def test_a_delay_reports_only_what_notify_asked_for(mta, notify, labels):
    send(mta, "delay-sam@example.net", rcpt_options=(notify,))
    assert mta.wait_idle(5)
    assert [r.label for r in mta.report_log] == labels


@pytest.mark.parametrize("disposition", ["displayed", "deleted"])
def test_reader_sends_an_mdn_after_the_success_dsn(mta, disposition):
    prefix = "display" if disposition == "displayed" else "delete"
    reader = f"{prefix}-lea@example.net"
    send(mta, reader, copy(receipt=True))
    assert mta.wait_idle(5)
    assert [r.label for r in mta.report_log] == ["dsn-delivered", f"mdn-{disposition}"]
    to, raw = mta.reports_sent[1]
    assert to == SENDER  # the Disposition-Notification-To address
    message, fields = mdn_fields(raw)
    assert message.get_param("report-type") == "disposition-notification"
    assert message["Subject"] == f"Return Receipt ({disposition}) - Lunch on Friday"
    assert message["To"] == SENDER and message["From"] == reader
    assert fields["Disposition"] == f"manual-action/MDN-sent-manually; {disposition}"
    assert fields["Original-Message-ID"] == "<m1.abc@lists.example.org>"
    assert fields["Final-Recipient"] == f"rfc822;{reader}"
    assert fields["Original-Recipient"] == f"rfc822;{reader}"
    assert fields["Reporting-UA"]
    assert "Lunch on Friday" in part_of(message, "text/rfc822-headers").get_content()


def test_no_mdn_without_disposition_notification_to(mta):
    send(mta, "display-max@example.net", copy(receipt=False))
    assert mta.wait_idle(5)
    assert [r.label for r in mta.report_log] == ["dsn-delivered"]


def test_mdn_does_not_depend_on_notify(mta):
    send(mta, "display-ned@example.net", copy(receipt=True), rcpt_options=("NOTIFY=NEVER",))
    assert mta.wait_idle(5)
    assert [r.label for r in mta.report_log] == ["mdn-displayed"]


def test_reports_for_many_recipients_keep_their_own_order(mta):
    readers = [f"delay-r{n}@example.net" for n in range(5)] + ["display-z@example.net"]
    for reader in readers:
        send(mta, reader, copy(receipt=True))
    assert mta.wait_idle(10)
    for reader in readers[:5]:
        assert [r.label for r in mta.reports_about(reader)] == ["dsn-delayed", "dsn-delivered"]
    assert [r.label for r in mta.reports_about(readers[-1])] == ["dsn-delivered", "mdn-displayed"]


def test_eight_bit_headers_come_back_byte_for_byte(mta):
    message = copy("Déjeuner vendredi")
    send(mta, "fail-oli@example.net", message, mail_options=("BODY=8BITMIME", "ENVID=Tok3n"))
    assert mta.wait_idle(5)
    raw = mta.reports_sent[0][1]
    assert "Subject: Déjeuner vendredi".encode() in raw
    assert b"Content-Transfer-Encoding: 8bit" in raw


def test_mdn_subject_of_an_eight_bit_original_is_encoded(mta):
    send(mta, "display-uma@example.net", copy("Déjeuner vendredi", receipt=True))
    assert mta.wait_idle(5)
    raw = mta.reports_sent[-1][1]
    assert b"Subject: =?utf-8?" in raw
    message, fields = mdn_fields(raw)
    assert message["Subject"] == "Return Receipt (displayed) - Déjeuner vendredi"
    assert fields["Disposition"].endswith("displayed")


def test_crlf_reports_have_no_bare_line_feeds():
    with LoopbackMTA(report_linesep="\r\n") as mta:
        send(mta, "display-pia@example.net", copy(receipt=True))
        assert mta.wait_idle(5)
    assert len(mta.reports_sent) == 2
    for _, raw in mta.reports_sent:
        assert b"\n" not in raw.replace(b"\r\n", b"")
        assert parse(raw).get_content_type() == "multipart/report"


# -- handing reports over -------------------------------------------------------------------


def test_collector_receives_every_report():
    collector = ReportCollector()
    with LoopbackMTA(deliver_report=collector) as mta:
        send(mta, "delay-quinn@example.net")
        assert mta.wait_idle(5)
    assert [rcpt for rcpt, _ in collector.reports] == [SENDER, SENDER]
    assert collector.for_recipient(SENDER) == [raw for _, raw in mta.reports_sent]


def test_handoff_command_pipes_like_a_postfix_alias(tmp_path):
    script = tmp_path / "ingest.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, sys, pathlib
            out = pathlib.Path(sys.argv[1])
            out.with_suffix(".eml").write_bytes(sys.stdin.buffer.read())
            keys = ("RECIPIENT", "ORIGINAL_RECIPIENT", "EXTENSION", "LOCAL", "DOMAIN")
            out.write_text("\\n".join(f"{k}={os.environ.get(k)}" for k in keys + ("ARG",)))
            out.write_text(out.read_text().replace("ARG=None", "ARG=" + sys.argv[2]))
            """
        )
    )
    result = tmp_path / "seen.txt"
    deliver = handoff_command([sys.executable, str(script), str(result), "{recipient}"])
    with LoopbackMTA(deliver_report=deliver) as mta:
        send(mta, "alice@example.net")
        assert mta.wait_idle(20)
    assert mta.report_failures == []
    seen = dict(line.split("=", 1) for line in result.read_text().splitlines())
    assert seen["RECIPIENT"] == seen["ORIGINAL_RECIPIENT"] == seen["ARG"] == SENDER
    assert seen["EXTENSION"] == "tok3n"  # Postfix local(8) folds the local part to lower case
    assert seen["LOCAL"] == "bounce+tok3n" and seen["DOMAIN"] == "lists.example.org"
    piped = result.with_suffix(".eml").read_bytes()
    assert piped.startswith(b"From MAILER-DAEMON  ")
    assert b"\nReturn-Path: <>\n" in piped and f"Delivered-To: {SENDER}\n".encode() in piped
    assert piped.endswith(mta.reports_sent[0][1])


def test_failed_handoffs_are_counted_and_kept(caplog):
    deliver = handoff_command([sys.executable, "-c", "import sys; sys.exit(75)"])
    with LoopbackMTA(deliver_report=deliver) as mta:
        send(mta, "alice@example.net")
        assert mta.wait_idle(20)
    (failure,) = mta.report_failures
    assert failure.label == "dsn-delivered" and b"Successful Mail Delivery Report" in failure.raw
    assert "exited 75" in failure.error
    assert mta.reports_sent == []
    assert "could not hand over" in caplog.text


# -- rules and the command line ------------------------------------------------------------


def test_local_part_rule():
    assert behaviour_from_local_part("alice@example.net") is None
    assert behaviour_from_local_part("john-doe@example.net") is None
    assert behaviour_from_local_part("fail-x@example.net").kind is Kind.FAIL
    tempfail = behaviour_from_local_part("TempFail3-x@example.net")
    assert tempfail == Behaviour(kind=Kind.TEMPFAIL, attempts=3)
    assert behaviour_from_local_part("dropdata-x@example.net").kind is Kind.DROP_AT_DATA


def test_demo_rule_is_repeatable_and_mixed():
    rule = demo_rule()
    kinds = Counter(rule(f"user{n}@example.net").kind for n in range(2000))
    assert rule("user1@example.net") == demo_rule()("USER1@example.net")
    assert set(kinds) == {
        Kind.DELIVER,
        Kind.DISPLAY,
        Kind.DELETE,
        Kind.DELAY,
        Kind.FAIL,
        Kind.REFUSE,
        Kind.TEMPFAIL,
    }
    assert 0.35 < kinds[Kind.DELIVER] / 2000 < 0.55
    assert rule("fail-x@example.net").kind is Kind.FAIL


def test_command_line_server_runs_until_sigterm():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "ingest.testmta", "--port", "0", "--drain", "5"],
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        banner = ""
        while "Ctrl-C" not in banner:
            banner = process.stderr.readline()
            assert banner, "the server stopped before listening"
        port = int(banner.split("127.0.0.1:")[1].split()[0])
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.sendmail(SENDER, ["delay-rae@example.net"], copy(), [], [ALL_EVENTS])
    finally:
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=20)
    assert process.returncode == 0, errors
    assert "1 transactions, 2 reports handed over, 0 failed" in errors
