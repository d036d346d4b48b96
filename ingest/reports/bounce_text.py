"""Reading the human-readable text of a non-standard bounce: is it one, is it a delay warning,
and what status does a recipient's error text carry.

Shared by the wording-based detectors so they agree on what a bounce is and what it means.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .fields import find_addresses, find_status, normalize_address, unfold
from .message import ReportMessage, is_daemon_address
from .results import RecipientResult, Report

_DAEMON_NAME = re.compile(
    r"mailer[-_ ]?daemon|mail delivery|delivery (?:sub)?system|mail system|postmaster"
    r"|system administrator|\bndr\b|mail administrator|mail ?server|returned mail",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|not (?:be )?delivered|delivery (?:status|fail|notif|problem|error|report)"
    r"|returned mail|return(?:ed|ing)? (?:message )?to sender|failure notice|mail delivery"
    r"|non[- ]?deliver|delivery has failed|failed delivery|failure delivery|mail system error"
    r"|could not (?:be )?(?:sent|delivered)|rejected|bounce|unzustellbar|nicht zugestellt"
    r"|non remis|no entregado|non consegnato|onbestelbaar|delivery failure|mail failure"
    r"|error sending|message delivery|warning: message|delayed mail|mail delayed"
    r"|配信|不達|エラー|送信できません|не доставлено|失败|退信"
    r"|no se puede entregar|zustellung verzögert|não (?:pode ser )?entregue"
    r"|impossibile recapitare|kan niet worden bezorgd",
    re.IGNORECASE,
)
_BOUNCE_WORDING = re.compile(
    r"could not be delivered|couldn't be delivered|was not delivered|wasn't delivered"
    r"|undeliverable|unable to deliver|delivery (?:has )?failed|failed permanently"
    r"|permanent (?:error|failure|fatal)|delivery to the following recipients? (?:failed|has been)"
    r"|did not reach the following|could not deliver|not been delivered|error delivering"
    r"|were unable to deliver|rejected by|delivery failure|delivery status notification"
    r"|not yet been delivered|has been delayed|returned to sender",
    re.IGNORECASE,
)
_DELAY_SUBJECT = re.compile(
    r"delay|warning|deferred|still being (?:tried|retried)|waiting mail|verz[öo]gert|retard"
    r"|temporary (?:delivery )?failure|transient (?:delivery )?failure"
    r"|avviso|aviso|advertencia|avertissement|warnung|задерж|предупрежд|遅延|延迟|延遲",
    re.IGNORECASE,
)
_DELAY_WORDING = re.compile(
    r"(?:has|have) not yet been (?:\w+ )?delivered|not been delivered yet|has been delayed"
    r"|is delayed|attempts to deliver .{0,40}will continue|no (?:further )?action is required"
    r"|delivery (?:has been |is )?delayed|will (?:be )?(?:retried|retry)|will continue (?:to )?tr"
    r"|delivery attempts will continue|still (?:trying|being retried|attempting)"
    r"|warning message only|no action is required on your part|will keep trying"
    r"|will try (?:to deliver|again)|temporarily delayed|temporary failure report"
    r"|will continue to be (?:re)?attempted|still (?:in|on) the (?:retry )?queue"
    r"|(?:do not|don't) need to resend|transient (?:delivery )?(?:errors?|failures?)"
    # Italian, Portuguese, Spanish, French, German, Russian, Japanese, Chinese.
    r"|non (?:è )?(?:stato )?ancora (?:stato )?(?:consegnat|recapitat)|continuerà a tentare"
    r"|ainda não (?:foi )?entregue|continuará (?:a )?tentar|aún no (?:se )?ha (?:sido )?entregado"
    r"|seguirá intentando|pas encore (?:été )?(?:remis|distribué|livré)|continuera d'essayer"
    r"|noch nicht zugestellt|weiterhin versucht|ещё не доставлен|еще не доставлен"
    r"|まだ配信されていません|配信が遅延|尚未投递|尚未送达|延迟投递",
    re.IGNORECASE,
)
_GIVE_UP_WORDING = re.compile(
    r"giving up|gave up|given up|permanent(?:ly)? (?:error|fail)|failed permanently"
    r"|not going to try again|will not be retried|no further (?:delivery )?attempts"
    r"|has been returned|returning message to sender|message (?:has )?expired"
    r"|retry timeout exceeded|(?:message|mail) (?:is )?non-?deliverable"
    r"|no (?:new|further|more) (?:delivery )?(?:attempts|tries)|(?:in|on) the queue too long"
    # German, French, Italian, Portuguese, Spanish, Russian, Japanese, Chinese.
    r"|keine weiteren zustellversuche|aucune (?:nouvelle|autre) tentative"
    r"|in coda troppo a lungo|não haverá novas tentativas"
    r"|no se (?:volverá a intentar|realizarán más intentos)|попытки доставки прекращены"
    r"|配信を中止|停止投递",
    re.IGNORECASE,
)
# Words of a time limit passed or a message sent back: final in a notice that says nothing
# of retrying, but warnings use them too ("will be returned to you if...").
_GAVE_UP_UNLESS_RETRYING = re.compile(
    r"(?:could ?n[o']t|was ?n[o']t|not) (?:be )?delivered (?:with)?in \d+"
    r"|(?:is being|has been) (?:returned|sent back) to you"
    r"|innerhalb von \d+ \w+ nicht|wird an sie zurückgeschickt|vous est retourné"
    r"|restituito al mittente|não foi possível entregar .{0,60}em \d+|devolvida|devuelto"
    r"|возвращ[её]н отправителю|以内に配信できな|已被退回",
    re.IGNORECASE,
)
# "Temporary delivery failure" is a warning, not a return.
_RETURNED_SUBJECT = re.compile(
    r"^\s*returned mail\b|undeliver|failed|(?<!temporary )(?<!transient )"
    r"(?<!temporary delivery )(?<!transient delivery )failure",
    re.IGNORECASE,
)
# The same in other languages, where a delay subject can share the words ("Zustellung
# verzögert: ... nicht zugestellt"), so a delay word in the subject wins over these.
_RETURNED_SUBJECT_TRANSLATED = re.compile(
    r"unzustellbar|nicht zugestellt|non remis|échec de (?:la )?(?:remise|distribution)"
    r"|non consegnat|falha na entrega|não entregue|no entregado|no se puede entregar"
    r"|недоставлен|не доставлено|配信不能|配信エラー|退信|投递失败",
    re.IGNORECASE,
)
_SMTP_REPLY = re.compile(r"(?<![\w.:/=-])([245])[0-5]\d(?=[ -]|$)", re.MULTILINE)
_MAX_DIAGNOSTIC = 1000
_ERROR_WORDS = re.compile(
    r"(?<![\d.])[45]\d\d\b(?!\.\d)|[45]\.\d{1,3}\.\d{1,3}|error|fail|unable|unknown|reject|denied"
    r"|refused|full|quota|expired|timed? ?out|invalid|not (?:found|exist|valid|listed|recogni)"
    r"|no such|deferred|blocked|blacklist|disabled|suspended|too (?:big|large|many)|exceeded"
    r"|unreachable|not reachable|does not|doesn't|unavailable|problem|reason|loops? back"
    r"|no (?:mx|a|dns)\b|(?:could ?n[o']t|cannot|can't) (?:find|resolve|connect)|nxdomain"
    r"|host not found|name (?:service|server) error|no route|not respond"
    r"|(?:could ?n[o']t|cannot|can't) be (?:found|delivered)|(?:was ?n[o']t|not) delivered"
    r"|non-?existent|unroutea?ble|too long|\bloop"
    r"|エラー|失敗",
    re.IGNORECASE,
)
# A line that stops inside a sentence or a list of addresses ("sent to a@x, b@y and").
LINE_CONTINUES = re.compile(r"(?:,|\band|\bor|&|\bto)\s*$", re.IGNORECASE)
_SECTION_TITLE = re.compile(r"^\s*[-=_]{2,}.*[-=_]{2,}\s*$")
# Footers that mention errors without stating one.
_FOOTER = re.compile(
    r"if you (?:feel|believe|think)[^.\n]*\bin error|please (?:reply|write|send mail) to"
    r"[^.\n]*postmaster[^.\n]*",
    re.IGNORECASE,
)


def has_error_words(text: str) -> bool:
    """Whether a piece of text states an error (a reply code or an error word)."""
    return bool(_ERROR_WORDS.search(" ".join(_FOOTER.sub("", text).split())))


def error_lines(text: str, limit: int = 5) -> str:
    """The lines of a notice that state the error ("" when none does)."""
    lines = [
        line.strip()
        for line in text.splitlines()
        if has_error_words(line) and not _SECTION_TITLE.match(line)
    ]
    return "\n".join(lines[:limit])


_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


def notice_reason(message: ReportMessage) -> str:
    """What the notice says went wrong, for recipients it gives no error text of their own:
    its error lines, else its first paragraph that names no address (a greeting or a list of
    recipients does)."""
    return message.remember("notice_reason", lambda: _notice_reason(message.notification_text))


def _notice_reason(text: str) -> str:
    reason = error_lines(text)
    if not reason:
        paragraphs = []
        for paragraph in _PARAGRAPH_BREAK.split(text):
            lines = [ln for ln in paragraph.strip().splitlines() if not _SECTION_TITLE.match(ln)]
            paragraphs.append("\n".join(lines).strip())
        reason = next(
            (p for p in paragraphs if len(p) >= 20 and not find_addresses(p)),
            next((p for p in paragraphs if len(p) >= 40), ""),
        )
    return clean_diagnostic(reason)


# Prefixes of an answer or a forward, and list tags: what follows them is the subject of
# the message answered, so bounce words there say nothing about this message.
_ANSWER_PREFIX = re.compile(
    r"^\s*(?:\[[^\]]{0,60}\]\s*)*(?:(?:re|aw|sv|vs|rv|r|antw|odp|fwd?|wg|tr|enc|doorst)"
    r"(?:\[\d+\])?\s*:|auto(?:matic|matische)?[- ]?(?:reply|response|answer|antwort)\b"
    r"|out of (?:the )?office\b|r[ée]ponse automatique|respuesta autom[áa]tica"
    r"|risposta automatica|automatisch antwoord|自動返信|自動応答|自动回复)",
    re.IGNORECASE,
)
_LIST_TAGS = re.compile(r"^\s*(?:\[[^\]]{0,60}\]\s*)+")


def has_bounce_structure(message: ReportMessage) -> bool:
    """Whether the headers or the writer mark a mail system's report, whatever it says."""
    msg = message.msg
    if msg.get("x-failed-recipients"):
        return True
    # Exchange 2013+ and Office 365 mark every non-delivery and delay notice, in any language;
    # Exchange 2000/2003 give reports this content class.
    if msg.get("x-ms-exchange-message-is-ndr") is not None:
        return True
    if "urn:content-classes:dsn" in (msg.get("content-class") or "").lower():
        return True
    sender = message.header("from")
    addresses = find_addresses(sender)
    if not addresses or any(is_daemon_address(a) for a in addresses):
        return True
    display = sender
    for address in addresses:
        display = display.replace(address, "")
    return bool(_DAEMON_NAME.search(display))


def is_answer(message: ReportMessage) -> bool:
    """Whether the subject answers or forwards another message (Re:, Fwd:, Automatic reply:)."""
    return bool(_ANSWER_PREFIX.match(message.subject))


def has_bounce_subject(message: ReportMessage) -> bool:
    """Bounce words in the subject itself, not in the subject of a message it answers."""
    if is_answer(message):
        return False
    return bool(_BOUNCE_SUBJECT.search(_LIST_TAGS.sub("", message.subject)))


def is_machine_written(message: ReportMessage) -> bool:
    """Whether a program rather than a person wrote the message (null sender, Auto-Submitted,
    a mail system's own headers or address)."""
    msg = message.msg
    if (msg.get("return-path") or "").strip() == "<>":
        return True
    if (msg.get("auto-submitted") or "no").strip().lower() != "no":
        return True
    return has_bounce_structure(message)


def looks_like_bounce(message: ReportMessage) -> bool:
    """Whether the writer, the subject or the wording say this is a mail system's report."""
    if has_bounce_structure(message) or has_bounce_subject(message):
        return True
    null_sender = (message.msg.get("return-path") or "").strip() == "<>"
    automatic = message.msg.get("auto-submitted") or null_sender
    if not automatic or is_answer(message):
        return False
    return bool(_BOUNCE_WORDING.search(message.notification_text))


def _unfolded_notification(message: ReportMessage) -> str:
    return message.remember("unfolded_notification", lambda: unfold(message.notification_text))


_SUCCESS_SUBJECT = re.compile(
    r"successful (?:mail )?delivery|(?:mail )?delivery status report|^\s*(?:delivered|relayed)\s*:",
    re.IGNORECASE,
)
_SUCCESS_WORDING = re.compile(
    r"successfully (?:delivered|relayed|transmitted)|delivered successfully"
    r"|delivery report that you requested|had successful delivery",
    re.IGNORECASE,
)
_RELAYED_LINE = re.compile(r"delivery via |relayed|forwarded to", re.IGNORECASE)


def is_success_notice(message: ReportMessage) -> bool:
    """Whether the notice reports deliveries (Postfix's "Successful Mail Delivery Report",
    a verification report) rather than failures."""
    return message.remember("success_notice", lambda: bool(
        _SUCCESS_SUBJECT.search(message.subject)
        or _SUCCESS_WORDING.search(_unfolded_notification(message))
    ))


# Headings that open a section of recipients ("Delivery to the following recipients failed
# permanently:", "DELAYED MAIL", "----- transient non-fatal errors -----").
_DELAY_HEADING = re.compile(
    r"delay|deferred|will be retried|retrying|still (?:trying|being)|non-fatal|transient"
    r"|temporar|not yet been delivered|warning",
    re.IGNORECASE,
)
_FAILED_HEADING = re.compile(
    r"fail|fatal|permanent|undeliverable|can ?not be delivered|could ?n[o']t be delivered"
    r"|not delivered|rejected|bounced",
    re.IGNORECASE,
)


def _is_heading(line: str) -> bool:
    stripped = line.strip()
    if len(stripped) < 5:
        return False
    return stripped.endswith(":") or stripped.isupper() or bool(_SECTION_TITLE.match(line))


def section_actions(message: ReportMessage) -> dict[str, str]:
    """In a notice with both a failure section and a delay section, each address's action
    from the heading above it (lower-cased address -> action); {} for one-kind notices."""
    return message.remember("section_actions", lambda: _section_actions(message))


def _section_actions(message: ReportMessage) -> dict[str, str]:
    actions: dict[str, str] = {}
    seen: set[str] = set()
    current = None
    for line in message.notification_text.splitlines():
        if _is_heading(line) and not find_addresses(line):
            if _DELAY_HEADING.search(line):
                current = "delayed"
            elif _FAILED_HEADING.search(line):
                current = "failed"
            if current:
                seen.add(current)
            continue
        if current:
            for address in find_addresses(line):
                actions.setdefault(normalize_address(address).lower(), current)
    return actions if seen == {"failed", "delayed"} else {}


def says_given_up(message: ReportMessage) -> bool:
    """Whether the report says the mail system gave up (or returns the message as failed)."""
    return message.remember("given_up", lambda: _says_given_up(message))


def _says_given_up(message: ReportMessage) -> bool:
    subject = message.subject
    if _GIVE_UP_WORDING.search(subject):
        return True
    if _RETURNED_SUBJECT.search(subject):
        return True
    if _RETURNED_SUBJECT_TRANSLATED.search(subject) and not _DELAY_SUBJECT.search(subject):
        return True
    text = _unfolded_notification(message)
    if _GIVE_UP_WORDING.search(text):
        return True
    return bool(
        _GAVE_UP_UNLESS_RETRYING.search(text)
        and not _DELAY_SUBJECT.search(subject)
        and not _DELAY_WORDING.search(text)
    )


def is_delay_warning(message: ReportMessage) -> bool:
    """Whether the report says delivery is still being tried (a warning, not a failure).

    Words of giving up win over words of retrying: the latter often sit in quoted replies.
    """
    if says_given_up(message):
        return False
    return bool(
        _DELAY_SUBJECT.search(message.subject)
        or _DELAY_WORDING.search(_unfolded_notification(message))
    )


# What an error text without a code says, as the subject and detail of an RFC 3463 code
# (the class comes from the reply or the action). First match wins.
_REASON_DETAILS = (
    (re.compile(r"loops? back|mail loop|looping|too many (?:\"?received|hops)|hop count", re.I),
     "4.6"),
    (re.compile(r"(?:message|mail)(?: size)? (?:is )?too (?:big|large)|size (?:limit|exceeds)"
                r"|exceeds? (?:the )?(?:maximum|fixed maximum|size)|容量制限|サイズ", re.I), "3.4"),
    (re.compile(r"(?:mailbox|mail ?folder|inbox) (?:is )?full|quota|insufficient (?:disk )?space"
                r"|storage (?:is )?full|容量|いっぱい|满|용량|переполнен", re.I), "2.2"),
    (re.compile(r"(?:account|mailbox|user) (?:is )?(?:disabled|suspended|inactive|locked|blocked"
                r"|deactivated)|停止|無効", re.I), "2.1"),
    (re.compile(r"mailbox name not allowed|(?:bad|invalid) (?:address )?syntax", re.I), "1.3"),
    (re.compile(r"user unknown|unknown user|no such (?:user|mailbox|recipient|address)"
                r"|(?:mailbox|recipient|address|user|account)(?: name)? (?:is )?"
                r"(?:not found|unknown|invalid|unavailable|does ?n[o']t exist)"
                r"|does ?n[o']t exist|not listed in|invalid (?:recipient|address|mailbox|user)"
                r"|no mailbox here|unrouteable|存在しません|宛先不明|不存在|없는|не существует"
                r"|нет такого", re.I), "1.1"),
    (re.compile(r"host (?:or domain name )?(?:not found|unknown)|domain (?:not found|does ?n[o']t"
                r" exist)|no (?:mx|a)\b|nxdomain|name service error|non-?existent host", re.I),
     "1.2"),
    (re.compile(r"relay(?:ing)? (?:access )?(?:denied|not permitted|prohibited)", re.I), "7.1"),
    (re.compile(r"spam|blacklist|blocklist|block(?:ed)?\b|policy|reject(?:ed)? for|受信拒否"
                r"|denied|not (?:allowed|authori[sz]ed|permitted)", re.I), "7.1"),
    (re.compile(r"expired|retry timeout|too long in (?:the )?queue|could not be delivered (?:for|"
                r"within)|giving up", re.I), "4.7"),
    (re.compile(r"connection (?:refused|timed out|reset)|timed? ?out|not respond"
                r"|unreachable|no route", re.I), "4.1"),
)


def status_in(text: str, action: str) -> str | None:
    """The RFC 3463 code in an error text, else the class of its SMTP reply (or of the
    action) with the detail its wording gives, else a default."""
    status = find_status(text, errors_only=True)
    if status:
        return status
    reply = _SMTP_REPLY.search(text)
    if reply and reply.group(1) != "2":
        status_class = reply.group(1)
    else:
        status_class = {"failed": "5", "delayed": "4"}.get(action)
        if status_class is None:
            return None
    return f"{status_class}.{_reason_detail(text)}"


@lru_cache(maxsize=256)
def _reason_detail(text: str) -> str:
    """The subject.detail of an RFC 3463 code that an error text's words give ("0.0")."""
    return next((d for pattern, d in _REASON_DETAILS if pattern.search(text)), "0.0")


def clean_diagnostic(text: str) -> str:
    """Error text as one readable line, bounded in length, without section titles."""
    if "--" in text or "==" in text or "__" in text:
        text = "\n".join(ln for ln in text.splitlines() if not _SECTION_TITLE.match(ln))
    return unfold(text)[:_MAX_DIAGNOSTIC]


def recipient_result(address: str, detail: str, action: str) -> RecipientResult:
    """A recipient of a wording-based report, with its status read from the error text."""
    return RecipientResult(
        address=normalize_address(address),
        action=action,
        status=status_in(detail, action),
        diagnostic=clean_diagnostic(detail),
    )


def wording_report(message: ReportMessage, name: str, results: list[RecipientResult]) -> Report:
    """A Report from a wording-based detector, with what the message itself says around it."""
    seen: dict[str, RecipientResult] = {}
    for result in results:
        key = result.address.lower()
        if key in seen:
            earlier = seen[key]
            if not earlier.diagnostic and result.diagnostic:
                earlier.diagnostic = result.diagnostic
                earlier.status = result.status
            continue
        seen[key] = result
    # A recipient whose own error is temporary (4.x.x), in a notice that never says it gave
    # up, is still being tried, whatever language the notice is written in.
    sections = section_actions(message)
    for key, result in seen.items():
        if key in sections and result.action in ("failed", "delayed"):
            result.action = sections[key]
    temporary = [
        r
        for key, r in seen.items()
        if r.action == "failed" and (r.status or "").startswith("4") and key not in sections
    ]
    if temporary and not says_given_up(message):
        for result in temporary:
            result.action = "delayed"
    if is_success_notice(message):
        # A recipient line with no error in a delivery report was delivered or relayed.
        for result in seen.values():
            if result.diagnostic.strip() and not has_error_words(result.diagnostic):
                relayed = _RELAYED_LINE.search(result.diagnostic)
                result.action = "relayed" if relayed else "delivered"
                result.status = find_status(result.diagnostic) or "2.0.0"
    for result in seen.values():
        if not result.diagnostic.strip():
            result.diagnostic = notice_reason(message)
    report = Report(kind="dsn", detector=name, recipients=list(seen.values()))
    attached = message.attached_message
    if attached is not None:
        report.original_message_id = (attached.get("message-id") or "").strip() or None
    return report


def is_own_address(message: ReportMessage, address: str) -> bool:
    """Whether an address belongs to the report's writer or addressee rather than a recipient."""
    return normalize_address(address).lower() in message.own_addresses
