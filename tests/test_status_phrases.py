"""RFC 3463 codes described in words people read."""

from __future__ import annotations

import pytest

from listtrack.status_phrases import describe_status, status_phrase


@pytest.mark.parametrize(("code", "phrase"), [
    ("5.1.1", "Permanent failure: bad destination mailbox address"),
    ("4.4.7", "Persistent transient failure: delivery time expired"),
    ("4.2.2", "Persistent transient failure: mailbox full"),
    ("5.7.1", "Permanent failure: delivery not authorized, message refused"),
    ("2.0.0", "Success"),
    ("5.0.0", "Permanent failure"),
    ("2.1.5", "Success: destination address valid"),
    (" 5.2.2 ", "Permanent failure: mailbox full"),
    ("5.7.26", "Permanent failure: multiple authentication checks failed"),
])
def test_known_codes(code, phrase):
    assert status_phrase(code) == phrase


def test_unknown_detail_falls_back_to_the_subject():
    meaning = describe_status("5.1.99")
    assert meaning.detail_phrase is None
    assert meaning.phrase == "Permanent failure: addressing status"
    assert describe_status("4.9.1").phrase == \
        "Persistent transient failure: subject 9 (not defined)"


def test_leading_zeros_are_read_as_numbers():
    meaning = describe_status("5.01.001")
    assert meaning.code == "5.1.1" and meaning.subject_phrase == "addressing status"


@pytest.mark.parametrize("code", [None, "", "550", "3.1.1", "5.1", "5.1.1.1", "5.1.1x",
                                  "x.1.1", "5.1234.1", "smtp; 550 5.1.1"])
def test_anything_else_is_not_a_code(code):
    assert describe_status(code) is None
    assert status_phrase(code) == ""
