"""The data model: plain SQLAlchemy 2.0, one `Base`, no Flask, so the ingest path can use it.

The web app binds the same classes with `SQLAlchemy(model_class=Base)`. Every schema
change needs an Alembic migration in `listtrack/migrations/versions` (a test compares).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Raw mail is kept byte for byte; MariaDB's plain BLOB stops at 64 KiB.
RawBytes = LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
# Long header texts; MariaDB's TEXT stops at 64 KiB too.
LongText = Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
# An e-mail address (RFC 5321 path limit) that MariaDB can still index in utf8mb4.
Address = String(320)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite and MariaDB keep no zone)."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect):  # noqa: ANN001, ANN201
        if dialect.name in ("mysql", "mariadb"):  # keep microseconds: reports arrive close
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect):  # noqa: ANN201
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):  # noqa: ANN201
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(Address, unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_listmaster: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # What Flask-Login expects of a user object, without importing Flask here.
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)


class MailingList(Base):
    """A list. Tracking columns left NULL inherit the site default (see `settings`)."""

    __tablename__ = "lists"
    __table_args__ = (UniqueConstraint("name", "domain", name="uq_lists_name_domain"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    domain: Mapped[str] = mapped_column(String(253))
    subject: Mapped[str] = mapped_column(String(255), default="")
    send_policy: Mapped[str] = mapped_column(String(16), default="subscribers")
    archive_visibility: Mapped[str] = mapped_column(String(16), default="private")
    delivery_status_notification: Mapped[str | None] = mapped_column(String(16))
    message_disposition_notification: Mapped[str | None] = mapped_column(String(16))
    tracking_visibility: Mapped[str | None] = mapped_column(String(16))
    retention_period: Mapped[int | None] = mapped_column(Integer)
    verp_rate: Mapped[str | None] = mapped_column(String(8))
    mask_addresses: Mapped[bool] = mapped_column(Boolean, default=False)
    alert_owners_on_failure: Mapped[bool] = mapped_column(Boolean, default=False)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owners: Mapped[list[ListOwner]] = relationship(
        back_populates="mailing_list", cascade="all, delete-orphan"
    )

    @property
    def address(self) -> str:
        return f"{self.name}@{self.domain}"


class ListOwner(Base):
    __tablename__ = "list_owners"

    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id"), primary_key=True)
    email: Mapped[str] = mapped_column(Address, primary_key=True)

    mailing_list: Mapped[MailingList] = relationship(back_populates="owners")


RECEPTION_OPTIONS = (
    "mail", "digest", "digestplain", "summary", "nomail",
    "notice", "txt", "html", "urlize", "not_me",
)


class Subscriber(Base):
    __tablename__ = "subscribers"
    __table_args__ = (UniqueConstraint("list_id", "email", name="uq_subscribers_list_email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id"))
    email: Mapped[str] = mapped_column(Address)
    reception: Mapped[str] = mapped_column(String(16), default="mail")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Message(Base):
    """An archived post, raw bytes exact, and what was decided about tracking it."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("list_id", "message_id", name="uq_messages_list_message_id"),
        Index("ix_messages_list_month_date", "list_id", "year_month", "date"),
        Index("ix_messages_thread", "thread_id", "date"),
        # Archive month pages: a month's threads in order; threading: replies awaiting a parent.
        Index("ix_messages_list_month_start", "list_id", "year_month", "thread_start", "date"),
        Index("ix_messages_list_in_reply_to", "list_id", "in_reply_to"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id"))
    message_id: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(Text, default="")
    sender: Mapped[str] = mapped_column(Address, default="")
    sender_name: Mapped[str] = mapped_column(String(255), default="")
    date: Mapped[datetime] = mapped_column(UTCDateTime)
    year_month: Mapped[str] = mapped_column(String(7))
    in_reply_to: Mapped[str | None] = mapped_column(String(255))
    references: Mapped[str | None] = mapped_column(LongText)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    thread_id: Mapped[int | None] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer, default=0)
    raw: Mapped[bytes] = mapped_column(RawBytes)
    # Plain text of the body, extracted when archiving, for the archive search.
    body_text: Mapped[str | None] = mapped_column(LongText)
    # First message of its thread in its month: a month's threads are an index range.
    thread_start: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Tracking decided for this message (None: not tracked).
    dsn_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    mdn_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    dsn_unavailable: Mapped[bool] = mapped_column(Boolean, default=False)
    distribution: Mapped[str] = mapped_column(String(16), default="archived")
    distributed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The owners' failure summary was mailed (one per message); tracking records purged.
    owner_alert_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tracking_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def tracked(self) -> bool:
        return self.dsn_requested or self.mdn_requested


class Delivery(Base):
    """One copy of one message for one recipient, and what became of it."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("message_id", "recipient", name="uq_deliveries_message_recipient"),
        # Summary counts by status and rows by status in address order (keyset pages).
        Index("ix_deliveries_message_status_recipient", "message_id", "status", "recipient"),
        # The sending queue: what is due, oldest first.
        Index("ix_deliveries_send_state_due", "send_state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"))
    recipient: Mapped[str] = mapped_column(Address)
    reception: Mapped[str] = mapped_column(String(16), default="mail")
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    status_code: Mapped[str | None] = mapped_column(String(16))
    diagnostic: Mapped[str | None] = mapped_column(Text)
    last_notification_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the current status was reached (orders reports of the same rank).
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Sending: pending, sending, sent, refused, skipped.
    send_state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    complaint: Mapped[str | None] = mapped_column(String(32))


class Report(Base):
    """A report as received: the evidence, byte for byte, with its SHA-256."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    raw: Mapped[bytes] = mapped_column(RawBytes)
    # What our own MTA added in front (mbox From line, Delivered-To, ...), kept apart.
    mta_prefix: Mapped[bytes | None] = mapped_column(RawBytes)
    envelope_recipient: Mapped[str | None] = mapped_column(Address)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notification(Base):
    """What one report says about one delivery; a delivery's history is its notifications."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_delivery_received", "delivery_id", "received_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"))
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # dsn, mdn, arf, auto-reply, smtp
    action: Mapped[str] = mapped_column(String(16))
    status_code: Mapped[str | None] = mapped_column(String(16))
    diagnostic: Mapped[str | None] = mapped_column(Text)
    final_recipient: Mapped[str | None] = mapped_column(Address)
    original_recipient: Mapped[str | None] = mapped_column(Address)
    reporting_mta: Mapped[str | None] = mapped_column(String(255))
    remote_mta: Mapped[str | None] = mapped_column(String(255))
    disposition_mode: Mapped[str | None] = mapped_column(String(64))
    feedback_type: Mapped[str | None] = mapped_column(String(32))
    arrival_date: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QuarantinedReport(Base):
    """Mail that reached the report address and could not be matched or understood."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    reason: Mapped[str] = mapped_column(String(32), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    raw: Mapped[bytes] = mapped_column(RawBytes)
    mta_prefix: Mapped[bytes | None] = mapped_column(RawBytes)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    envelope_recipient: Mapped[str | None] = mapped_column(Address)
    spool_name: Mapped[str | None] = mapped_column(String(255), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ListSettingChange(Base):
    """Who changed which list setting, when, from what to what."""

    __tablename__ = "list_setting_changes"
    __table_args__ = (Index("ix_list_setting_changes_list_when", "list_id", "changed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id"))
    changed_by: Mapped[str] = mapped_column(Address)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    setting: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)


class DeliveryStatusCount(Base):
    """Deliveries of one message per status, kept by database triggers (migration 0005).

    The tracking panel's summary reads these few rows instead of counting 100,000
    deliveries; the triggers see every insert, status change and delete, whoever makes it.
    No foreign key: a message's rows go with it through a trigger, and purges stay simple.
    """

    __tablename__ = "delivery_status_counts"

    message_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    delivery_count: Mapped[int] = mapped_column(Integer, default=0)
