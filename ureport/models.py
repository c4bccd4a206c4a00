"""Tortoise models: contacts (no clear numbers), polls, runs, answers, the inbox and the outbox."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class ContactStatus(StrEnum):
    STRANGER = "stranger"  # wrote to us without joining: only their digest is kept, to send help once
    REGISTERING = "registering"
    ACTIVE = "active"
    STOPPED = "stopped"


class Role(StrEnum):
    ADMIN = "admin"  # authors polls, starts broadcasts, manages users
    AMBASSADOR = "ambassador"  # reads and exports their own districts' results
    VIEWER = "viewer"  # reads every poll's results, published or not, and changes nothing


class PollStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    CLOSED = "closed"


class RunStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    EXPIRED = "expired"
    INTERRUPTED = "interrupted"
    FAILED = "failed"  # the flow's content went wrong (a loop without a question)
    CLOSED = "closed"  # open when its poll closed: the person's next text gets poll_closed, then EXPIRED


class InboxStatus(StrEnum):
    PENDING = "pending"
    PROCESSED = "processed"
    FAILED = "failed"


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"


class Location(Model):
    """A region or district: districts are what people answer with and what results are broken down by."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    name = fields.CharField(max_length=128)
    level = fields.SmallIntField()
    parent: fields.ForeignKeyNullableRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name="children", null=True, on_delete=fields.SET_NULL
    )
    number = fields.IntField(null=True)
    aliases: fields.JSONField[list[str]] = fields.JSONField(default=list)
    geometry: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)

    class Meta:
        table = "location"


class Contact(Model):
    """A young person, known by a random id: the number exists only as a keyed digest and a ciphertext."""

    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    urn_digest = fields.CharField(max_length=80, unique=True)
    urn_cipher = fields.TextField(null=True)  # erased when a contact is forgotten
    status = fields.CharEnumField(ContactStatus, max_length=16, default=ContactStatus.STRANGER)
    language = fields.CharField(max_length=8, null=True)
    birth_year = fields.IntField(null=True)
    sex = fields.CharField(max_length=16, null=True)
    district: fields.ForeignKeyNullableRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name="contacts", null=True, on_delete=fields.SET_NULL
    )
    fields_json: fields.JSONField[dict[str, Any]] = fields.JSONField(
        default=dict
    )  # other contact fields a flow sets
    created_at = fields.DatetimeField(auto_now_add=True)
    registered_at = fields.DatetimeField(null=True)
    stopped_at = fields.DatetimeField(null=True)
    last_seen_at = fields.DatetimeField(null=True)
    help_sent_at = fields.DatetimeField(null=True)
    # A permanent send failure (invalid number, blacklisted): broadcasts skip the contact until they
    # write to us again, instead of paying the gateway for a message that cannot arrive.
    undeliverable_at = fields.DatetimeField(null=True)
    undeliverable_reason = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "contact"
        indexes = (("status", "district_id"),)


class Poll(Model):
    """A flow definition (registration or poll) as loaded from its YAML file."""

    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=64, unique=True)
    kind = fields.CharField(max_length=16)
    title: fields.JSONField[dict[str, str]] = fields.JSONField()
    source = fields.TextField()
    version = fields.CharField(max_length=32)
    status = fields.CharEnumField(PollStatus, max_length=16, default=PollStatus.DRAFT)
    default_language = fields.CharField(max_length=8)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    started_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)
    # Broadcasts (`ureport polls start`): acted on by the background Scheduler when due.
    start_at = fields.DatetimeField(null=True)  # a scheduled start, with its cohort filters
    cohort: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    close_at = fields.DatetimeField(null=True)
    reminder_hours = fields.IntField(null=True)
    reminded_at = fields.DatetimeField(null=True)
    # Whether the public (dashboard, JSON) sees the results of an active or closed poll: an admin can
    # hold them back, ambassadors and admins see them whatever this says.
    published = fields.BooleanField(default=True)

    class Meta:
        table = "poll"


class Question(Model):
    """One result key of a poll, with its categories: what aggregates and exports are built on."""

    id = fields.IntField(primary_key=True)
    poll: fields.ForeignKeyRelation[Poll] = fields.ForeignKeyField("models.Poll", related_name="questions")
    key = fields.CharField(max_length=64)
    position = fields.SmallIntField()
    type = fields.CharField(max_length=16)
    text: fields.JSONField[dict[str, str]] = fields.JSONField()
    categories: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(default=list)

    class Meta:
        table = "question"
        unique_together = (("poll", "key"),)


class FlowRun(Model):
    """One contact's pass through one flow, `state` being the pure engine's session as JSON."""

    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    contact: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="runs", on_delete=fields.CASCADE
    )
    poll: fields.ForeignKeyRelation[Poll] = fields.ForeignKeyField("models.Poll", related_name="runs")
    status = fields.CharEnumField(RunStatus, max_length=16, default=RunStatus.ACTIVE)
    channel = fields.CharField(max_length=8)
    state: fields.JSONField[dict[str, Any]] = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    expires_at = fields.DatetimeField()
    exited_at = fields.DatetimeField(null=True)

    class Meta:
        table = "flow_run"
        indexes = (("contact_id", "status"),)


class Answer(Model):
    """A saved result, with the respondent's demographics as they were when they answered."""

    id = fields.BigIntField(primary_key=True)
    run: fields.ForeignKeyRelation[FlowRun] = fields.ForeignKeyField(
        "models.FlowRun", related_name="answers", on_delete=fields.CASCADE
    )
    contact_ref = fields.UUIDField()  # the random id: kept when a contact is forgotten
    poll: fields.ForeignKeyRelation[Poll] = fields.ForeignKeyField("models.Poll", related_name="answers")
    question_key = fields.CharField(max_length=64)
    category = fields.CharField(max_length=64)
    value = fields.TextField()  # redacted of phone numbers and e-mail addresses before it is stored
    number = fields.FloatField(null=True)
    channel = fields.CharField(max_length=8)
    age = fields.SmallIntField(null=True)
    sex = fields.CharField(max_length=16, null=True)
    district_id = fields.IntField(null=True)
    region_id = fields.IntField(null=True)
    language = fields.CharField(max_length=8, null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "answer"
        unique_together = (("run", "question_key"),)
        indexes = (("poll_id", "question_key"),)


class InboundMessage(Model):
    """The inbox: every accepted callback, persisted before it is processed, idempotent on the gateway id."""

    id = fields.BigIntField(primary_key=True)
    channel = fields.CharField(max_length=16)
    gateway_id = fields.CharField(max_length=128)
    urn_digest = fields.CharField(max_length=80)
    urn_cipher = fields.TextField()
    text_cipher = fields.TextField()  # the body is encrypted at rest: it may carry anything
    to = fields.CharField(max_length=32)
    link_id = fields.CharField(max_length=64, null=True)
    network_code = fields.CharField(max_length=16, null=True)
    gateway_date = fields.DatetimeField()
    received_at = fields.DatetimeField()
    status = fields.CharEnumField(InboxStatus, max_length=16, default=InboxStatus.PENDING)
    attempts = fields.SmallIntField(default=0)
    error = fields.CharField(max_length=255, null=True)
    processed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "inbound_message"
        unique_together = (("channel", "gateway_id"),)
        indexes = (("status", "id"),)


class OutboundMessage(Model):
    """The outbox: every SMS we send, from queued to delivered or failed, with the gateway's id."""

    id = fields.BigIntField(primary_key=True)
    contact: fields.ForeignKeyNullableRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="messages", null=True, on_delete=fields.SET_NULL
    )
    urn_cipher = fields.TextField(null=True)  # erased once the message reaches a final status
    text = fields.TextField()
    status = fields.CharEnumField(OutboxStatus, max_length=16, default=OutboxStatus.QUEUED)
    gateway_id = fields.CharField(max_length=128, null=True, db_index=True)
    gateway_status = fields.CharField(max_length=32, null=True)
    failure_reason = fields.CharField(max_length=64, null=True)
    encoding = fields.CharField(max_length=8)
    parts = fields.SmallIntField()
    cost = fields.CharField(max_length=32, null=True)
    attempts = fields.SmallIntField(default=0)
    next_attempt_at = fields.DatetimeField()
    claimed_until = fields.DatetimeField(null=True)
    in_reply_to_id = fields.BigIntField(null=True)
    poll_id = fields.IntField(null=True)  # set on broadcast and reminder messages: `polls status` counts them
    created_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)
    delivered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "outbound_message"
        # (status, id): the sender claims queued rows in id order and stops after a batch, instead of
        # sorting every queued row per claim (a broadcast queues hundreds of thousands at once).
        indexes = (
            ("status", "next_attempt_at"),
            ("status", "id"),
            ("poll_id", "status"),
            ("contact_id", "sent_at"),
        )


class DeliveryReportLog(Model):
    """Each delivery report as received (digest only), so that status changes can be audited."""

    id = fields.BigIntField(primary_key=True)
    gateway_id = fields.CharField(max_length=128, db_index=True)
    raw_status = fields.CharField(max_length=32)
    failure_reason = fields.CharField(max_length=64, null=True)
    network_code = fields.CharField(max_length=16, null=True)
    urn_digest = fields.CharField(max_length=80, null=True)
    received_at = fields.DatetimeField()

    class Meta:
        table = "delivery_report"


class UssdSession(Model):
    """One USSD session between hops, keyed by the gateway's sessionId: digest only, never a number.

    `path_digests` recognises the texts the gateway sent lately (each one's length and keyed digest:
    never the text, which may hold free text), `hops` counts inputs, `state` is the menu on screen
    (mode, options, page), `screen` the last body sent.
    """

    id = fields.CharField(max_length=128, primary_key=True)
    contact: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="ussd_sessions", on_delete=fields.CASCADE
    )
    urn_digest = fields.CharField(max_length=80)
    service_code = fields.CharField(max_length=32)
    path_digests = fields.TextField()
    hops = fields.IntField(default=0)
    state: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    screen = fields.TextField()
    screen_id = fields.CharField(max_length=64)
    run_id = fields.UUIDField(null=True)
    ended = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()

    class Meta:
        table = "ussd_session"
        # By contact only: a contact has a few sessions at most (expired ones are swept), and updated_at,
        # written on every hop, made every hop rewrite its index entry.
        indexes = (("contact_id",),)


class UssdSessionEvent(Model):
    """The gateway's end-of-session notification, once per session: how and where people drop off."""

    id = fields.BigIntField(primary_key=True)
    session_id = fields.CharField(max_length=128, unique=True)
    status = fields.CharField(max_length=16)
    duration_ms = fields.IntField(null=True)
    hops = fields.IntField(null=True)
    error = fields.CharField(max_length=255, null=True)
    last_screen_id = fields.CharField(max_length=64, null=True)
    network_code = fields.CharField(max_length=16, null=True)
    cost = fields.CharField(max_length=32, null=True)
    urn_digest = fields.CharField(max_length=80, null=True)
    received_at = fields.DatetimeField()

    class Meta:
        table = "ussd_session_event"
        indexes = (("last_screen_id", "status"),)


class AggregateCounter(Model):
    """A precomputed count of answers per poll question, category and scope (e.g. district=12|sex=female).

    Kept up to date in the same transaction as the answers, so published results never scan answers.
    """

    id = fields.BigIntField(primary_key=True)
    poll_id = fields.IntField()
    question_key = fields.CharField(max_length=64)
    scope = fields.CharField(max_length=191)
    category = fields.CharField(max_length=64)
    count = fields.IntField(default=0)

    class Meta:
        table = "aggregate_counter"
        unique_together = (("poll_id", "question_key", "scope", "category"),)


class ResultShare(Model):
    """A participant who was sent a poll's results: `polls share-results` never messages anyone twice."""

    id = fields.BigIntField(primary_key=True)
    poll: fields.ForeignKeyRelation[Poll] = fields.ForeignKeyField(
        "models.Poll", related_name="result_shares"
    )
    contact: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="result_shares", on_delete=fields.CASCADE
    )
    question_key = fields.CharField(max_length=64)
    shared_at = fields.DatetimeField()

    class Meta:
        table = "result_share"
        unique_together = (("poll", "contact"),)


class User(Model):
    """A staff account (admin, ambassador, viewer): never a respondent, so the e-mail is kept in clear."""

    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)  # stored lower-cased
    password_hash = fields.CharField(max_length=255)  # argon2id, with its parameters
    role = fields.CharEnumField(Role, max_length=16)
    language = fields.CharField(max_length=8, null=True)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField()
    last_login_at = fields.DatetimeField(null=True)

    class Meta:
        table = "app_user"


class UserDistrict(Model):
    """The districts an ambassador answers for: their restricted pages show these and no others."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="districts", on_delete=fields.CASCADE
    )
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "models.Location", related_name="ambassadors", on_delete=fields.CASCADE
    )

    class Meta:
        table = "user_district"
        unique_together = (("user", "location"),)


class WebSession(Model):
    """A signed-in browser. The id is a digest of the cookie's token, so a database copy opens no session."""

    id = fields.CharField(max_length=80, primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="sessions", on_delete=fields.CASCADE
    )
    csrf_token = fields.CharField(max_length=64)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "web_session"


class StaffAction(Model):
    """Who did what to an account or a poll, and when: staff accountability, no respondent's data.

    The subject is a staff e-mail or a poll's slug, never a phone number or a contact."""

    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField(db_index=True)
    actor = fields.CharField(max_length=254)  # the admin's e-mail, or "command line"
    action = fields.CharField(max_length=40)  # see ureport.audit.ACTIONS
    subject = fields.CharField(max_length=254)
    detail = fields.CharField(max_length=500, default="")

    class Meta:
        table = "staff_action"


class LoginThrottle(Model):
    """Failed log-ins per account and per client address (digests), to slow down password guessing."""

    id = fields.BigIntField(primary_key=True)
    key = fields.CharField(max_length=80, unique=True)
    failures = fields.IntField(default=0)
    window_started_at = fields.DatetimeField()
    locked_until = fields.DatetimeField(null=True)

    class Meta:
        table = "login_throttle"
