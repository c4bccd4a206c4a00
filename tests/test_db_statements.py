"""A batch's writes as prepared statements (ureport.db): the values each field writes are the ORM's own,
whole objects are stored as bulk_create stores them, and on SQLite the statements run in one trip to
the database thread, all or nothing."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from tortoise.exceptions import IntegrityError, TransactionManagementError
from tortoise.models import Model
from tortoise.transactions import in_transaction

from tests.conftest import PG_URL
from tests.db_helpers import count_trips
from ureport import db
from ureport.models import (
    Answer,
    Contact,
    ContactStatus,
    FlowRun,
    OutboundMessage,
    Poll,
    RunStatus,
    UssdSession,
)

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore:DateTimeField:RuntimeWarning")]

SAMPLES: tuple[Any, ...] = (
    None,
    "",
    "text",
    "x" * 200,  # longer than any CharField here: the field itself must refuse it
    0,
    -5,
    2**40,
    True,
    False,
    1.5,
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    ContactStatus.ACTIVE,
    RunStatus.COMPLETED,
    "active",
    datetime(2026, 12, 2, 8, 0, tzinfo=UTC),
    datetime(2026, 12, 2, 11, 0, tzinfo=timezone(timedelta(hours=3))),  # Nairobi
    datetime(2026, 12, 2, 8, 0),  # naive: the ORM warns and makes it aware
    {"a": [1, 2]},
    [1, "two"],
)


REPLACED = ("category", "value")


def _outcome(convert: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "value", convert(*args)
    except Exception as exc:  # noqa: BLE001 - which error, compared below
        return "error", type(exc)


def _assert_same(got: tuple[str, Any], expected: tuple[str, Any], where: tuple[Any, ...]) -> None:
    """The same value of the same type (and time zone), or the same error."""
    assert got == expected, where
    assert type(got[1]) is type(expected[1]), where
    assert getattr(got[1], "tzinfo", None) == getattr(expected[1], "tzinfo", None), where


@pytest.mark.parametrize("model", [Contact, FlowRun, Answer, UssdSession, OutboundMessage])
async def test_writer_gives_what_the_field_itself_writes(database: str, model: type[Model]) -> None:
    meta = model._meta
    for name in meta.fields_db_projection:
        field = meta.fields_map[name]
        write = db.writer(field)
        for value in SAMPLES:
            got, expected = _outcome(write, value, model), _outcome(field.to_db_value, value, model)
            _assert_same(got, expected, (model.__name__, name, value))


async def test_an_auto_now_field_writes_the_time_it_is_given_and_fills_in_none(database: str) -> None:
    """On purpose unlike the field itself, which reads the clock again: a batch writes its own `now`."""
    run = db.build(
        FlowRun,
        id=uuid.uuid4(),
        contact_id=uuid.uuid4(),
        poll_id=1,
        status=RunStatus.ACTIVE,
        channel="sms",
        state={},
        created_at=None,
        updated_at=None,
        expires_at=datetime(2026, 12, 9, tzinfo=UTC),
        exited_at=None,
    )
    batch_now = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    for name in ("updated_at", "created_at"):  # auto_now, auto_now_add
        write = db.writer(FlowRun._meta.fields_map[name])
        assert write(batch_now, run) == batch_now
        filled = write(None, run)
        assert isinstance(filled, datetime) and filled > batch_now  # the field's own clock reading


READ_SAMPLES: tuple[Any, ...] = (
    None,
    "",
    "text",
    "12345678-1234-5678-1234-567812345678",
    "not a uuid",
    0,
    7,
    1,
    "2026-12-02 08:00:00+00:00",
    "2026-12-02 11:00:00.250000+03:00",
    "2026-12-02 08:00:00",  # naive: made aware
    '{"a": 1}',
)


@pytest.mark.parametrize("model", [Contact, FlowRun, Answer, UssdSession, OutboundMessage])
async def test_reader_gives_what_the_field_itself_reads(database: str, model: type[Model]) -> None:
    meta = model._meta
    for name in meta.fields_db_projection:
        field = meta.fields_map[name]
        read = db.reader(field)
        members = tuple(member.value for member in getattr(field, "enum_type", ()))  # a status, say
        for value in (*READ_SAMPLES, *members):
            got, expected = _outcome(read, value), _outcome(field.to_python_value, value)
            _assert_same(got, expected, (model.__name__, name, value))


async def _poll() -> Poll:
    return await Poll.create(
        slug="night-walk",
        kind="poll",
        title={"en": "Night walk"},
        source="",
        version="1",
        default_language="en",
    )


async def test_statements_store_whole_objects_as_bulk_create_does(database: str) -> None:
    poll = await _poll()
    now = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    contact = Contact(urn_digest="d1", urn_cipher="c1", language="sw", birth_year=2008, sex="female")
    run = FlowRun(
        contact_id=contact.id,
        poll_id=poll.id,
        channel="ussd",
        state={"node": "q1", "results": {}},
        expires_at=now + timedelta(days=7),
    )
    answer = Answer(
        run_id=run.id,
        contact_ref=contact.id,
        poll_id=poll.id,
        question_key="safe",
        category="Yes",
        value="ndiyo",
        number=None,
        channel="ussd",
        age=18,
        sex="female",
        language="sw",
        created_at=now,
    )
    async with in_transaction() as conn:
        dialect = conn.capabilities.dialect
        await db.execute_statements(
            conn,
            [
                db.insert_models_statement(Contact, [contact], dialect),
                db.insert_models_statement(FlowRun, [run], dialect),
                db.insert_models_statement(Answer, [answer], dialect),
            ],
        )
    stored = await Contact.get(id=contact.id)
    assert (stored.status, stored.language, stored.birth_year, stored.fields_json) == (
        ContactStatus.STRANGER,
        "sw",
        2008,
        {},
    )
    assert stored.created_at is not None  # auto_now_add, as the ORM sets it
    stored_run = await FlowRun.get(id=run.id)
    assert stored_run.state == {"node": "q1", "results": {}}
    assert stored_run.status == RunStatus.ACTIVE and stored_run.created_at is not None
    assert await Answer.filter(run_id=run.id).values_list("category", "value", "age") == [
        ("Yes", "ndiyo", 18)
    ]

    # The same question answered again replaces the answer's fields (one answer per run and question).
    answer.category, answer.value = "No", "hapana"
    contact.status, contact.last_seen_at = ContactStatus.ACTIVE, now
    async with in_transaction() as conn:
        dialect = conn.capabilities.dialect
        await db.execute_statements(
            conn,
            [
                db.update_statement(Contact, [contact], ("status", "last_seen_at"), dialect),
                db.insert_models_statement(
                    Answer,
                    [answer],
                    dialect,
                    conflict=("run_id", "question_key"),
                    update=("category", "value"),
                ),
                db.update_statement(Contact, [], ("status",), dialect),  # nothing to run: skipped
            ],
        )
    assert await Answer.filter(run_id=run.id).values_list("category", "value") == [("No", "hapana")]
    stored = await Contact.get(id=contact.id)
    assert stored.status == ContactStatus.ACTIVE and stored.last_seen_at == now


async def test_a_failing_statement_raises_the_orms_error_and_writes_nothing(database: str) -> None:
    first = Contact(urn_digest="d1")
    twin = Contact(urn_digest="d1")  # the digest is unique
    with pytest.raises(IntegrityError):
        async with in_transaction() as conn:
            dialect = conn.capabilities.dialect
            await db.execute_statements(
                conn,
                [
                    db.insert_models_statement(Contact, [first], dialect),
                    db.insert_models_statement(Contact, [twin], dialect),
                ],
            )
    assert await Contact.all().count() == 0


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's database thread; asyncpg runs each statement itself")
async def test_on_sqlite_the_statements_take_one_trip_to_the_database_thread(database: str) -> None:
    contacts = [Contact(urn_digest=f"d{n}") for n in range(3)]
    async with in_transaction() as conn:
        trips = count_trips(conn._connection)
        await db.execute_statements(
            conn,
            [
                db.insert_models_statement(Contact, contacts, "sqlite"),
                db.update_statement(Contact, contacts, ("language",), "sqlite"),
                db.update_in_statement(Contact, [c.id for c in contacts], {"sex": "male"}, "sqlite"),
            ],
        )
        assert trips() == 1
    assert await Contact.filter(sex="male").count() == 3


async def test_build_sets_exactly_the_fields_given_and_refuses_gaps(database: str) -> None:
    poll = await _poll()
    values: dict[str, Any] = {
        "run_id": uuid.uuid4(),
        "contact_ref": uuid.uuid4(),
        "poll_id": poll.id,
        "question_key": "safe",
        "category": "Yes",
        "value": "yes",
        "number": None,
        "channel": "sms",
        "age": 17,
        "sex": "male",
        "district_id": None,
        "region_id": None,
        "language": "en",
        "created_at": datetime(2026, 12, 2, 8, 0, tzinfo=UTC),
    }
    built = db.build(Answer, **values)
    assert built.id is None and not built._saved_in_db
    assert {name: getattr(built, name) for name in values} == values
    with pytest.raises(TypeError, match="language"):
        db.build(Answer, **{k: v for k, v in values.items() if k != "language"})
    with pytest.raises(TypeError, match="colour"):
        db.build(Answer, **values, colour="red")


def test_assign_sets_plain_fields_as_setattr_does_and_refuses_relations() -> None:
    by_assign, by_setattr = UssdSession(id="s1", hops=0), UssdSession(id="s1", hops=0)
    by_assign._await_when_save["screen"] = object()  # as an async default would leave it pending
    by_setattr._await_when_save["screen"] = object()
    values = {"screen": "CON Hello", "hops": 3, "ended": True, "run_id": uuid.uuid4()}
    db.assign(by_assign, **values)
    for name, value in values.items():
        setattr(by_setattr, name, value)
    assert vars(by_assign) == vars(by_setattr) and by_assign._await_when_save == {}
    with pytest.raises(TypeError, match="relations"):
        db.assign(by_assign, contact=Contact(urn_digest="1:ab"))


async def test_selects_read_models_and_none_reads_nothing(database: str) -> None:
    await Contact.bulk_create(
        [Contact(urn_digest=f"d{n}", language="sw" if n % 2 else "en") for n in range(4)]
    )
    async with in_transaction() as conn:
        dialect = conn.capabilities.dialect
        swahili, nothing, english = await db.fetch_selects(
            conn,
            [
                db.select(Contact, ("urn_digest",), dialect, where={"language": "sw"}, order_by="urn_digest"),
                db.select(Contact, ("urn_digest",), dialect, where={"id__in": []}),  # None: no row can match
                db.select(Contact, ("urn_digest", "language"), dialect, where={"language": "en"}, limit=1),
            ],
        )
    assert [c.urn_digest for c in swahili] == ["d1", "d3"]
    assert nothing == []
    assert [(c.urn_digest, c.language) for c in english] in ([("d0", "en")], [("d2", "en")])


async def test_a_raw_field_is_read_as_the_database_returns_it(database: str) -> None:
    """`raw`: a JSON field's text, for a caller that parses each distinct text once (a USSD screen)."""
    await Contact.bulk_create([Contact(urn_digest="d1", fields_json={"school": "Kibera"})])
    async with in_transaction() as conn:
        dialect = conn.capabilities.dialect
        fields = ("urn_digest", "fields_json")
        parsed, raw = await db.fetch_selects(
            conn,
            [
                db.select(Contact, fields, dialect, where={"urn_digest": "d1"}),
                db.select(Contact, fields, dialect, where={"urn_digest": "d1"}, raw=("fields_json",)),
            ],
        )
    assert parsed[0].fields_json == {"school": "Kibera"}
    assert isinstance(raw[0].fields_json, str) and json.loads(raw[0].fields_json) == {"school": "Kibera"}
    assert raw[0].urn_digest == "d1"  # the other fields converted as before


async def test_writes_that_commit_end_the_transaction(database: str) -> None:
    contact = Contact(urn_digest="d1")
    async with in_transaction() as conn:
        statement = db.insert_models_statement(Contact, [contact], conn.capabilities.dialect)
        await db.execute_statements(conn, [statement], commit=True)
        if not PG_URL:  # committed in that trip: nothing more may run in it, it would run outside it
            with pytest.raises(TransactionManagementError):
                await conn.execute_query("SELECT 1")
    assert await Contact.filter(urn_digest="d1").count() == 1


async def test_changed_statements_write_only_what_changed_since_read(database: str) -> None:
    poll = await _poll()
    now = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    fields = ("status", "language", "last_seen_at", "fields_json")
    read = [await Contact.create(urn_digest=f"d{n}", language="en", fields_json={"a": 1}) for n in range(4)]
    loaded = {c.id: db.snapshot(c, fields) for c in read[:3]}  # the fourth was not read: all written
    seen, moved, idle, unread = read
    seen.last_seen_at = now
    moved.language, moved.last_seen_at = "sw", now
    idle.fields_json["a"] = 2  # changed in place: a JSON value is always written
    unread.language = "fr"
    dialect = "postgres" if PG_URL else "sqlite"

    statements = db.changed_statements(Contact, read, fields, loaded, dialect)

    assert sorted(_assigned(sql) for sql, _ in statements) == sorted(
        [
            ("last_seen_at", "fields_json"),
            ("language", "last_seen_at", "fields_json"),
            ("fields_json",),
            fields,
        ]
    )
    async with in_transaction() as conn:
        await db.execute_statements(conn, statements)
    stored = {c.urn_digest: c for c in await Contact.all()}
    assert stored["d0"].last_seen_at == now and stored["d0"].language == "en"
    assert stored["d1"].language == "sw" and stored["d1"].last_seen_at == now
    assert stored["d2"].fields_json == {"a": 2}
    assert stored["d3"].language == "fr"

    # Nothing changed since read: nothing written, and a field never read counts as changed.
    scalars = fields[:3]
    unchanged = db.changed_statements(
        Contact, [seen], scalars, {seen.id: db.snapshot(seen, scalars)}, dialect
    )
    assert unchanged == []
    run = await FlowRun.create(contact_id=seen.id, poll_id=poll.id, channel="sms", state={}, expires_at=now)
    partial = await FlowRun.filter(id=run.id).only("id", "status").first()
    assert partial is not None
    written = ("status", "updated_at")
    read_then = {run.id: db.snapshot(partial, written)}  # updated_at was not read
    partial.updated_at = now  # as Workspace.update_run sets it
    (only,) = db.changed_statements(FlowRun, [partial], written, read_then, dialect)
    assert _assigned(only[0]) == ("updated_at",)


def _assigned(sql: str) -> tuple[str, ...]:
    """The columns an UPDATE sets."""
    return tuple(re.findall(r'"(\w+)" = ', sql.split(" SET ")[1].split(" WHERE ")[0]))
