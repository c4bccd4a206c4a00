"""Counters kept in the same transaction as the answers: random conversations leave zero drift, and the
published tables read from them are suppressed."""

from __future__ import annotations

import asyncio
import random

import pytest

from tests.harness import running_app
from ureport.aggregates import results
from ureport.aggregates.counters import ALL
from ureport.channels.fake_gateway import FakeGateway
from ureport.models import Answer, Location, Poll, Question
from ureport.settings import Settings

REGISTER = ["JOIN", "{year}", "{sex}", "{county}", "1"]
# Answers for safe-streets, right and wrong: wrong ones trigger retries and the "other" fallback.
POLL_ANSWERS = [
    ["1", "2", "3", "never", "maybe"],
    ["1", "2", "3", "4", "5", "6", "online", "??"],
    ["yes", "no", "1", "2"],
    ["yes", "no"],
    ["10", "45", "500", "abc"],
    ["lights", "more police", "buses at night"],
]


def conversation(rng: random.Random) -> list[str]:
    fields = {
        "year": str(rng.randint(1995, 2012)),
        "sex": str(rng.randint(1, 3)),
        "county": rng.choice(["Nairobi", "47", "Kisumu", "Mombasa"]),
    }
    texts = [t.format(**fields) for t in REGISTER]
    for options in POLL_ANSWERS:
        texts += [rng.choice(options) for _ in range(rng.randint(1, 2))]
    if rng.random() < 0.2:
        texts.insert(rng.randint(5, len(texts)), "STOP")
    return texts


@pytest.mark.anyio
async def test_random_conversations_leave_no_drift(settings: Settings, fake_gateway: FakeGateway) -> None:
    rng = random.Random(20261124)
    async with running_app(settings, fake_gateway) as app:
        phones = [f"+2547110009{i:02d}" for i in range(24)]
        scripts = {phone: conversation(rng) for phone in phones}
        for step in range(max(len(s) for s in scripts.values())):
            for phone, script in scripts.items():  # interleaved: batches mix people and steps
                if step < len(script):
                    await app.post_sms(phone, script[step])
            await app.settle()
        answers = await Answer.all().count()
        assert answers > 60
        drift = await results.rebuild()
        assert (drift.keys, drift.answers) == (0, 0)
        poll = await Poll.get(slug="safe-streets")
        question = await Question.get(poll=poll, key="after_dark")
        counts = await results.question_counts(poll.id, question)
        overall = counts.breakdown()
        assert overall.rows == (ALL,)
        assert overall.total == await Answer.filter(poll=poll, question_key="after_dark").count()
        by_district = counts.breakdown(("district",))
        nairobi = await Location.get(name="Nairobi")
        assert str(nairobi.id) in by_district.rows
        assert by_district.total <= overall.total  # answers with an unknown district count only in "all"


@pytest.mark.anyio
async def test_a_changed_answer_moves_its_counts(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        for text in ["JOIN", "2005", "1", "Nairobi", "1", "1"]:
            await app.send("+254711000950", text)
        assert (await results.rebuild()).keys == 0
        stored = await results.stored_counts()
        assert sum(n for (_, key, scope, _), n in stored.items() if key == "after_dark" and scope == ALL) == 1


@pytest.mark.anyio
async def test_poll_results_are_suppressed(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        for i in range(3):
            for text in ["JOIN", "2005", "1", "Nairobi", "1", "1"]:
                await app.send(f"+25471100096{i}", text)
        poll = await Poll.get(slug="safe-streets")
        published = await results.poll_results(poll, k=5)
        after_dark = next(q for q in published["questions"] if q["key"] == "after_dark")
        overall = after_dark["tables"]["all"]
        assert 3 not in [cell for row in overall["cells"] for cell in row]  # 3 < k: never shown
        assert overall["total"] is None


@pytest.mark.anyio
async def test_results_json_is_public_and_suppressed(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        for i in range(6):
            for text in ["JOIN", "2005", "1", "Nairobi", "1", "1"]:
                await app.send(f"+25471100097{i}", text)
        response = await app.client.get("/polls/safe-streets/results.json")
        assert response.status_code == 200
        data = response.json()
        after_dark = next(q for q in data["questions"] if q["key"] == "after_dark")
        assert after_dark["tables"]["all"]["cells"] == [[6, 0, 0]]  # six said "always"
        by_sex = after_dark["tables"]["sex"]
        assert by_sex["rows"] == ["female", "male", "other_sex"] and by_sex["total"] == 6
        assert by_sex["cells"] == [[6, 0, 0], [0, 0, 0], [0, 0, 0]]  # every row shown, zeros included
        by_district = after_dark["tables"]["district"]
        assert len(by_district["rows"]) == 47 and "Nairobi" in by_district["row_labels"]
        assert "+2547" not in response.text and "contact" not in response.text
        assert (await app.client.get("/polls/registration/results.json")).status_code == 404
        assert (await app.client.get("/polls/nope/results.json")).status_code == 404


@pytest.mark.anyio
async def test_response_rate_and_responses_over_time(settings: Settings, fake_gateway: FakeGateway) -> None:
    from datetime import UTC, datetime

    async with running_app(settings, fake_gateway) as app:
        for i in range(8):
            texts = ["JOIN", "2004", "2", "Kisumu", "1"] + (["2", "1"] if i < 6 else [])
            for text in texts:
                await app.send(f"+25471100098{i}", text)
        poll = await Poll.get(slug="safe-streets")
        counts = await results.question_counts(poll.id, await Question.get(poll=poll, key="after_dark"))
        assert counts.response_rate().counts == ((6, 2),)  # 8 asked, 6 answered
        assert counts.response_rate().row_totals == (8,)
        where = await Question.get(poll=poll, key="where")
        assert (await results.question_counts(poll.id, where)).response_rate().counts == ((6, 0),)
        published = await results.poll_results(poll, k=5)
        after_dark = next(q for q in published["questions"] if q["key"] == "after_dark")
        rate = after_dark["tables"]["response_rate"]
        # 2 < 5 is hidden with the people asked, not with the answers: 6 is the total of every table.
        assert rate["cells"] == [[6, None]] and rate["total"] is None
        assert after_dark["tables"]["all"]["total"] == 6
        today = datetime.now(UTC).date().isoformat()
        assert after_dark["tables"]["day"]["rows"] == [today]
        assert (await results.rebuild()).keys == 0  # people asked are kept, answers recount exactly
        assert (await results.question_counts(poll.id, where)).asked


@pytest.mark.anyio
async def test_free_text_is_published_only_as_words_many_people_used(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    safer = [
        "more street lights",
        "street lights please",
        "lights and police",
        "brighter lights",
        "lights!",
        "police",
    ]
    async with running_app(settings, fake_gateway) as app:
        for i, text in enumerate(safer):
            for answer in ["JOIN", "2004", "2", "Kisumu", "1", "1", "1", "no", "10", text]:
                await app.send(f"+25471100099{i}", answer)
        poll = await Poll.get(slug="safe-streets")
        published = await results.poll_results(poll, k=5)
        free_text = next(q for q in published["questions"] if q["key"] == "safer")
        assert free_text["words"] == [{"word": "lights", "people": 5}]  # "police" (2), "street" (2): hidden
        assert "street lights" not in str(published)
        assert (await results.rebuild()).keys == 0


@pytest.mark.anyio
async def test_engagement_is_suppressed(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        for i in range(7):
            sex = "1" if i < 5 else "2"
            for text in ["JOIN", "2005", sex, "Nairobi", "1"]:
                await app.send(f"+25471100094{i}", text)
        data = (await app.client.get("/engagement.json")).json()
        assert data["opted_in"] == 7
        by_sex = data["tables"]["sex"]
        assert by_sex["rows"] == ["female", "male", "other_sex"]
        assert by_sex["cells"][0] == [None] and by_sex["cells"][1] == [None]  # 2 men hide, and 5 with them
        active = data["tables"]["active_people"]
        assert active["rows"] == ["0-3_months", "3-6_months", "6-12_months"]
        assert active["cells"] == [[7], [0], [0]]
        assert "+2547" not in str(data)


@pytest.mark.anyio
async def test_one_recomputation_at_a_time(
    settings: Settings, fake_gateway: FakeGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a poll's results are being recomputed, other readers get the previous (suppressed) results
    instead of starting their own: seconds of CPU each would pile up on a live poll's dashboard."""
    async with running_app(settings, fake_gateway) as app:
        for text in ["JOIN", "2005", "1", "Nairobi", "1", "1"]:
            await app.send("+254711000951", text)
        poll = await Poll.get(slug="safe-streets")
        before = await results.poll_results(poll, k=5)
        for text in ["JOIN", "2004", "2", "Nairobi", "1", "3"]:
            await app.send("+254711000952", text)  # a new answer: the cached results are out of date

        computing, release, real = asyncio.Event(), asyncio.Event(), results.compute_poll_results
        calls = []

        async def slow(poll: Poll, *, k: int) -> dict[str, object]:
            calls.append(poll.slug)
            computing.set()
            await release.wait()
            return await real(poll, k=k)

        monkeypatch.setattr(results, "compute_poll_results", slow)
        first = asyncio.create_task(results.poll_results(poll, k=5))
        await computing.wait()
        assert await results.poll_results(poll, k=5) is before  # served at once, not recomputed
        release.set()
        after = await first
        assert calls == ["safe-streets"]
        assert after != before
        assert await results.poll_results(poll, k=5) is after


def after_dark_total(data: dict[str, object]) -> object:
    questions = data["questions"]
    assert isinstance(questions, list)
    return next(q for q in questions if q["key"] == "after_dark")["tables"]["all"]["total"]


@pytest.mark.anyio
async def test_slow_results_are_served_at_once_and_brought_up_to_date_in_the_background(
    settings: Settings, fake_gateway: FakeGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(results, "SLOW", 0.0)  # every computation counts as slow
    monkeypatch.setattr(results, "SPACING", 0.0)  # and may be redone as soon as an answer arrives
    async with running_app(settings, fake_gateway) as app:
        for text in ["JOIN", "2004", "2", "Kisumu", "1", "2"]:
            await app.send("+254711000971", text)
        poll = await Poll.get(slug="safe-streets")
        first = await results.poll_results(poll, k=1)
        assert after_dark_total(first) == 1
        for text in ["JOIN", "2005", "1", "Nairobi", "1", "3"]:
            await app.send("+254711000972", text)
        assert await results.poll_results(poll, k=1) is first  # the reader does not wait
        await asyncio.gather(*results._TASKS)  # the one recomputation it started
        assert after_dark_total(await results.poll_results(poll, k=1)) == 2


@pytest.mark.anyio
async def test_public_results_are_computed_at_start(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway) as app:
        for text in ["JOIN", "2004", "2", "Kisumu", "1", "2"]:
            await app.send("+254711000973", text)
        results.forget_cached_results()
        assert await results.warm_up(k=1) == 1  # the demo's one public poll
        poll = await Poll.get(slug="safe-streets")
        assert (poll.id, 1) in results._CACHE
