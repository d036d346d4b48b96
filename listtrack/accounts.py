"""Users and passwords: werkzeug's scrypt hashes, addresses normalised one way everywhere."""

from __future__ import annotations

import email_validator
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from listtrack.models import User

# A list server's own host names (localhost, a *.test lab domain, a dotless intranet host) are
# real mail domains here; email-validator rejects them unless told otherwise (it documents
# editing this list for that).
for _local_name in ("localhost", "test", "local"):
    if _local_name in email_validator.SPECIAL_USE_DOMAIN_NAMES:
        email_validator.SPECIAL_USE_DOMAIN_NAMES.remove(_local_name)


class InvalidAddress(ValueError):
    """An address that is not a valid e-mail address; the message says why."""


def normalize_address(text: str) -> str:
    """Validate an address (no DNS look-up) and lower-case it, as Sympa does everywhere."""
    try:
        result = validate_email(text.strip(), check_deliverability=False,
                                globally_deliverable=False, allow_smtputf8=True,
                                allow_display_name=False)
    except EmailNotValidError as error:
        raise InvalidAddress(f"'{text.strip()}' is not a valid e-mail address: {error}") from None
    return f"{result.local_part}@{result.domain}".lower()


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def create_user(session: Session, email: str, password: str | None,
                listmaster: bool = False) -> User:
    """Add a user; raise ValueError if the address is taken or invalid."""
    address = normalize_address(email)
    if find_user(session, address) is not None:
        raise ValueError(f"a user {address} already exists")
    user = User(email=address, is_listmaster=listmaster,
                password_hash=hash_password(password) if password else None)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user whose address and password match, else None."""
    user = find_user(session, email)
    if user is None or not user.password_hash:
        check_password_hash(_unknown_user_hash(), password)  # same time as a real check
        return None
    return user if check_password_hash(user.password_hash, password) else None


_DUMMY_HASH: list[str] = []


def _unknown_user_hash() -> str:
    """A hash to check unknown addresses against, so timing does not tell who has an account."""
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(hash_password("no such user"))
    return _DUMMY_HASH[0]
