"""What a reader sees of an archived message: sanitized HTML, text, attachments, broken mail."""

from __future__ import annotations

import base64

import pytest

from listtrack.html_sanitizer import clean_style, sanitize_html
from listtrack.message_view import (
    decode_payload,
    decode_text,
    extract_body_text,
    message_part,
    render_message,
    safe_filename,
    unflow,
)


def part_url(number: int) -> str:
    return f"/part/{number}"


def mime(*parts: str, boundary: str = "BOUNDARY", subtype: str = "mixed",
         headers: str = "") -> bytes:
    lines = [
        "From: Alice <alice@example.org>", "To: news@example.org", "Subject: Test",
        "Date: Tue, 01 Dec 2026 10:00:00 +0000", "Message-ID: <t@example.org>",
        "MIME-Version: 1.0", f'Content-Type: multipart/{subtype}; boundary="{boundary}"',
    ]
    text = "\r\n".join(lines) + "\r\n" + headers + "\r\n"
    for part in parts:
        text += f"--{boundary}\r\n{part}\r\n"
    text += f"--{boundary}--\r\n"
    return text.encode("utf-8")


def html_part(markup: str) -> str:
    return f"Content-Type: text/html; charset=utf-8\r\n\r\n{markup}"


# --- sanitizing --------------------------------------------------------------------------

@pytest.mark.parametrize("markup, forbidden", [
    ("<p>hi<script>alert(1)</script></p>", ["<script", "alert(1)"]),
    ("<p onclick=\"steal()\" onmouseover='x()'>hi</p>", ["onclick", "onmouseover", "steal"]),
    ("<img src=x onerror=alert(1)>", ["onerror", "alert"]),
    ('<a href="javascript:alert(1)">x</a>', ["javascript:"]),
    ('<a href="JaVaScRiPt:alert(1)">x</a>', ["javascript:", "JaVaScRiPt"]),
    ('<a href="java&#x09;script:alert(1)">x</a>', ["script:", "alert"]),
    ('<a href=" javascript:alert(1)">x</a>', ["javascript"]),
    ('<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>', ["data:"]),
    ('<a href="vbscript:msgbox(1)">x</a>', ["vbscript"]),
    ('<div style="width: expression(alert(1))">x</div>', ["expression", "alert"]),
    ('<div style="background: url(http://tracker.example/p.gif)">x</div>', ["url(", "tracker"]),
    ('<div style="position: fixed; top: 0; z-index: 99">x</div>', ["position", "z-index"]),
    ('<div style="behavior: url(x.htc); -moz-binding: url(x.xml)">x</div>',
     ["behavior", "binding"]),
    ("<svg onload=alert(1)><script>alert(2)</script></svg>", ["<svg", "onload", "alert"]),
    ("<svg><a xlink:href='javascript:alert(1)'>x</a></svg>", ["javascript", "<svg"]),
    ('<iframe src="https://evil.example/"></iframe>', ["<iframe", "evil"]),
    ('<object data="x.swf"></object><embed src="x.swf">', ["<object", "<embed", "swf"]),
    ('<form action="https://evil.example/"><input name=p></form>', ["<form", "<input"]),
    ('<meta http-equiv="refresh" content="0;url=https://evil.example/">', ["<meta", "refresh"]),
    ('<base href="https://evil.example/"><link rel=stylesheet href=x.css>', ["<base", "<link"]),
    ("<style>body { display: none }</style><p>x</p>", ["<style", "display: none"]),
    ('<math><mi xlink:href="javascript:alert(1)">x</mi></math>', ["javascript", "<math"]),
    ('<div hx-get="/logout" hx-trigger="load" data-hx-post="/x">x</div>', ["hx-", "/logout"]),
    ('<p id="main" name="csrf_token" class="flash">x</p>', ["id=", "name=", "class="]),
    ("<!-- <script>alert(1)</script> --><p>x</p>", ["<!--", "alert"]),
])
def test_sanitizer_removes_what_could_run_or_leak(markup, forbidden):
    cleaned = sanitize_html(markup).html
    for text in forbidden:
        assert text.lower() not in cleaned.lower(), (text, cleaned)


def test_sanitizer_keeps_safe_formatting_and_marks_links():
    cleaned = sanitize_html(
        '<h2>Title</h2><p style="color: #c00; font-weight: bold">Hello <b>you</b></p>'
        '<table><tr><td colspan="2">cell</td></tr></table>'
        '<a href="https://example.org/page" rel="opener" target="_self">link</a>'
        '<a href="mailto:owner@example.org">mail</a>'
    ).html
    assert "<h2>Title</h2>" in cleaned and "<b>you</b>" in cleaned
    assert 'style="color: #c00; font-weight: bold"' in cleaned
    assert '<td colspan="2">cell</td>' in cleaned
    link = cleaned[cleaned.index('<a href="https://example.org/page"'):]
    link = link[:link.index(">")]
    assert 'rel="noopener noreferrer"' in link and 'target="_blank"' in link
    assert "_self" not in cleaned and "opener\"" not in cleaned.replace("noopener", "")
    assert 'href="mailto:owner@example.org"' in cleaned


def test_remote_images_are_blocked_until_asked_for():
    markup = ('<img src="https://tracker.example/pixel.gif" alt="pixel">'
              '<img src="http://tracker.example/b.png"><img src="//cdn.example/c.png">')
    blocked = sanitize_html(markup)
    assert "tracker.example" not in blocked.html and "cdn.example" not in blocked.html
    assert blocked.remote_images_blocked == 3
    assert 'alt="pixel"' in blocked.html
    shown = sanitize_html(markup, remote_images=True)
    assert 'src="https://tracker.example/pixel.gif"' in shown.html
    assert 'src="http://tracker.example/b.png"' in shown.html
    assert "cdn.example" not in shown.html  # scheme-relative: never


def test_inline_images_point_at_the_served_part_and_relative_urls_go():
    markup = ('<img src="cid:logo@example.org"><img src="cid:unknown@x">'
              '<img src="/logout"><img src="data:image/png;base64,iVBORw0KGgo=">'
              '<img src="data:image/svg+xml;base64,PHN2Zz4=">')
    cleaned = sanitize_html(markup, cid_url=lambda cid: "/part/3" if cid == "logo@example.org"
                            else None).html
    assert '<img src="/part/3">' in cleaned
    assert "unknown" not in cleaned and "/logout" not in cleaned and "svg" not in cleaned
    assert 'src="data:image/png;base64,iVBORw0KGgo="' in cleaned


def test_clean_style_keeps_only_listed_properties_with_inert_values():
    assert clean_style("color: red; position: absolute") == "color: red"
    assert clean_style("background-color: #fff; background-image: url(x)") == \
        "background-color: #fff"
    assert clean_style("font-family: 'a\\62 c'") is None  # CSS escapes can hide anything
    assert clean_style("width: 10px; width: calc(1px + expression(1))") == "width: 10px"
    assert clean_style("garbage") is None


# --- MIME walking --------------------------------------------------------------------------

def test_alternative_shows_html_by_default_and_text_on_request():
    raw = mime("Content-Type: text/plain; charset=utf-8\r\n\r\nPlain words",
               html_part("<p>Rich <b>words</b><script>x()</script></p>"), subtype="alternative")
    shown = render_message(raw, part_url=part_url)
    assert [body.kind for body in shown.bodies] == ["html"]
    assert "<b>words</b>" in shown.bodies[0].content and "script" not in shown.bodies[0].content
    assert shown.alternative_kinds == {"text", "html"}
    as_text = render_message(raw, part_url=part_url, prefer_html=False)
    assert [(body.kind, body.content) for body in as_text.bodies] == [("text", "Plain words")]
    assert dict(shown.headers)["From"] == "Alice <alice@example.org>"
    assert [name for name, _ in shown.headers] == ["From", "To", "Date", "Subject", "Message-ID"]


def test_attachments_are_listed_with_safe_names_and_served_whole():
    pdf = b"%PDF-1.4 \x00\x01\x02 binary"
    raw = mime(
        "Content-Type: text/plain; charset=utf-8\r\n\r\nSee attached.",
        "Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
        'Content-Disposition: attachment; filename="../../etc/Report \\"Q4\\".pdf"\r\n\r\n'
        + base64.b64encode(pdf).decode(),
        "Content-Type: text/plain; charset=iso-8859-1\r\n"
        "Content-Disposition: attachment; filename*=iso-8859-1''caf%E9.txt\r\n\r\ncaf\xe9",
        "Content-Type: image/svg+xml\r\nContent-Disposition: inline\r\n\r\n<svg/>",
    )
    shown = render_message(raw, part_url=part_url)
    assert [body.content for body in shown.bodies] == ["See attached."]
    names = [(a.filename, a.content_type) for a in shown.attachments]
    assert names == [("Report 'Q4'.pdf", "application/pdf"), ("café.txt", "text/plain"),
                     ("part-4.svg", "image/svg+xml")]
    pdf_part = message_part(raw, shown.attachments[0].number)
    assert pdf_part.data == pdf and pdf_part.content_type == "application/pdf"
    assert message_part(raw, shown.attachments[2].number).inline_image is False  # never inline
    assert message_part(raw, shown.attachments[1].number).charset == "iso-8859-1"
    assert message_part(raw, 0) is None  # the multipart container itself
    assert message_part(raw, 99) is None


def test_a_charset_that_cannot_go_into_a_header_is_dropped():
    raw = mime('Content-Type: text/csv; charset="utf-8\\r\\nX-Evil: 1"\r\n'
               "Content-Disposition: attachment; filename=a.csv\r\n\r\na,b")
    part = message_part(raw, 1)
    assert part.content_type == "text/csv" and part.charset is None and part.data == b"a,b"


def test_cid_images_in_related_parts_are_rewritten_to_their_part():
    png = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
    related = (
        'Content-Type: multipart/related; boundary="REL"\r\n\r\n'
        "--REL\r\n" + html_part('<p>Logo: <img src="cid:logo@example.org"></p>') + "\r\n"
        "--REL\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n"
        "Content-ID: <logo@example.org>\r\n\r\n" + png + "\r\n--REL--"
    )
    raw = mime(related)
    shown = render_message(raw, part_url=part_url)
    image = next(a for a in shown.attachments if a.content_id == "logo@example.org")
    assert f'<img src="/part/{image.number}">' in shown.bodies[0].content
    assert message_part(raw, image.number).data == b"\x89PNG\r\n\x1a\nfake"
    assert message_part(raw, image.number).inline_image


def test_forwarded_message_is_shown_inline_and_downloadable():
    inner = ("From: bob@example.org\r\nSubject: Inner\r\nMIME-Version: 1.0\r\n"
             'Content-Type: multipart/mixed; boundary="IN"\r\n\r\n--IN\r\n'
             "Content-Type: text/plain\r\n\r\nInner body\r\n--IN\r\n"
             "Content-Type: application/zip\r\nContent-Disposition: attachment; "
             "filename=inner.zip\r\n\r\nPK\r\n--IN--\r\n")
    raw = mime("Content-Type: text/plain\r\n\r\nForwarded:",
               "Content-Type: message/rfc822\r\n\r\n" + inner)
    shown = render_message(raw, part_url=part_url)
    assert [body.content for body in shown.bodies] == [
        "Forwarded:", "Attached message\nFrom: bob@example.org\nSubject: Inner", "Inner body"]
    attached, inner_zip = shown.attachments
    assert attached.content_type == "message/rfc822" and attached.filename.endswith(".eml")
    assert b"Inner body" in message_part(raw, attached.number).data
    assert inner_zip.filename == "inner.zip"
    assert message_part(raw, inner_zip.number).data == b"PK"

    as_attachment = mime("Content-Type: text/plain\r\n\r\nSee the file.",
                         "Content-Type: message/rfc822\r\nContent-Disposition: attachment\r\n"
                         "\r\n" + inner)
    shown = render_message(as_attachment, part_url=part_url)
    assert [body.content for body in shown.bodies] == ["See the file."]
    assert [a.content_type for a in shown.attachments] == ["message/rfc822"]


# --- broken mail ---------------------------------------------------------------------------

def test_unknown_and_wrong_charsets_render_with_a_note():
    raw = mime("Content-Type: text/plain; charset=x-klingon\r\n\r\nQapla\xe9",
               "Content-Type: text/plain; charset=base64\r\n\r\nnot base64 text",
               "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit"
               "\r\n\r\nbroken BYTE utf-8")
    raw = raw.replace(b"broken BYTE", b"broken \xff\xfe")
    shown = render_message(raw, part_url=part_url)
    texts = [body.content for body in shown.bodies]
    assert texts[0] == "Qaplaé" and texts[1] == "not base64 text"
    assert texts[2].startswith("broken ")
    assert any("x-klingon" in problem for problem in shown.problems)


def test_broken_mime_renders_what_it_can():
    no_end = (b"From: a@example.org\r\nSubject: cut\r\nMIME-Version: 1.0\r\n"
              b'Content-Type: multipart/mixed; boundary="X"\r\n\r\n--X\r\n'
              b"Content-Type: text/plain\r\n\r\nfirst part, never closed\r\n")
    shown = render_message(no_end, part_url=part_url)
    assert shown.bodies[0].content.startswith("first part, never closed")
    assert shown.problems

    no_boundary = (b"From: a@example.org\r\nContent-Type: multipart/mixed\r\n\r\njust text\r\n")
    shown = render_message(no_boundary, part_url=part_url)
    assert [(body.kind, body.content) for body in shown.bodies] == [("text", "just text\n")]

    bad_base64 = (b"From: a@example.org\r\nContent-Type: text/plain\r\n"
                  b"Content-Transfer-Encoding: base64\r\n\r\nSGVsbG8gd29y!!bGQ\r\n")
    assert render_message(bad_base64, part_url=part_url).bodies

    for raw in (b"", b"\x00\xff\xfe garbage", b"no headers at all\n\nbody",
                b"Content-Type: text/html; charset=\"\r\n\r\n<p>x"):
        render_message(raw, part_url=part_url)  # never raises
        extract_body_text(raw)


def test_header_decoding_survives_bad_words_and_raw_eight_bit():
    assert decode_text("=?utf-8?q?Caf=C3=A9?= =?x-unknown?q?abc?=")  # no exception
    assert decode_text("=?iso-8859-1?q?caf=E9?=") == "café"
    raw_utf8 = "Café".encode().decode("ascii", "surrogateescape")
    assert decode_text(raw_utf8) == "Café"


def test_decode_payload_falls_back_in_order():
    assert decode_payload("é".encode(), "utf-8") == ("é", None)
    assert decode_payload("é".encode("latin-1"), "iso-8859-1") == ("é", None)
    text, note = decode_payload("é".encode(), "nonsense-charset")
    assert text == "é" and "nonsense-charset" in note
    text, note = decode_payload(b"\xe9t\xe9", None)
    assert text == "été" and note is None


def test_safe_filename():
    assert safe_filename("../../../etc/passwd", 1, "text/plain") == "passwd"
    assert safe_filename("C:\\Users\\x\\evil.exe", 1, "application/octet-stream") == "evil.exe"
    assert safe_filename("a\r\nb\x00c.txt", 1, "text/plain") == "a bc.txt"
    assert safe_filename("=?utf-8?q?r=C3=A9sum=C3=A9.pdf?=", 1, "application/pdf") == "résumé.pdf"
    assert safe_filename(None, 7, "image/png") == "part-7.png"
    assert safe_filename("...", 2, "application/x-unknown-thing") == "part-2.bin"


def test_format_flowed_is_unwrapped():
    assert unflow("This is a \r\nlong line.\r\n-- \r\nsig", False) == \
        "This is a long line.\n-- \nsig"
    assert unflow("joined \r\ntogether", True) == "joinedtogether"
    raw = (b"From: a@example.org\r\nContent-Type: text/plain; format=flowed\r\n\r\n"
           b"one \r\ntwo\r\n")
    assert render_message(raw, part_url=part_url).bodies[0].content == "one two\n"


def test_body_text_extract_prefers_text_and_falls_back_to_html_text():
    both = mime("Content-Type: text/plain\r\n\r\nplain words",
                html_part("<p>rich</p>"), subtype="alternative")
    assert extract_body_text(both) == "plain words"
    html_only = mime(html_part("<p>Hello&nbsp;<b>there</b></p><script>nope()</script>"))
    extracted = extract_body_text(html_only)
    assert "Hello" in extracted and "there" in extracted and "nope" not in extracted
    attachment_only = mime("Content-Type: application/pdf\r\nContent-Disposition: attachment;"
                           " filename=a.pdf\r\n\r\n%PDF")
    assert extract_body_text(attachment_only) == ""
