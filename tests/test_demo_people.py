"""The demo's synthetic respondents go through the real path and leave consistent, suppressed results."""

from __future__ import annotations

import pytest

from tests.harness import running_app
from ureport.aggregates import results
from ureport.channels.fake_gateway import FakeGateway
from ureport.demo_people import seed_respondents
from ureport.models import Answer, Contact, ContactStatus, OutboundMessage, Poll
from ureport.settings import Settings


@pytest.mark.anyio
async def test_seeded_demo_has_results_and_sends_nothing(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        assert await seed_respondents(settings.keyring(), count=120) == 120
        assert await seed_respondents(settings.keyring(), count=120) == 0  # only into an empty demo
        assert await Contact.filter(status=ContactStatus.ACTIVE).count() == 120
        assert await Answer.all().count() > 500
        assert await OutboundMessage.all().count() == 0  # nobody is messaged
        assert (await results.rebuild()).keys == 0
        data = (await app.client.get("/polls/safe-streets/results.json")).json()
        after_dark = next(q for q in data["questions"] if q["key"] == "after_dark")
        answered = await Answer.filter(question_key="after_dark").count()
        assert answered > 100
        # 120 people over 47 districts leave the district tables thin, and most of their numbers are
        # hidden; the national results stay whole: complements are taken from the finer tables first.
        for question in data["questions"]:
            overall = question["tables"]["all"]
            assert overall["total"] == await Answer.filter(question_key=question["key"]).count()
        counts = [
            await Answer.filter(question_key="after_dark", category=c).count()
            for c in ("always", "sometimes", "never")
        ]
        assert after_dark["tables"]["all"]["cells"][0] == counts
        assert len(after_dark["tables"]["day"]["rows"]) > 1  # spread over days
        poll = await Poll.get(slug="safe-streets")
        assert (await app.client.get(f"/polls/{poll.slug}?tab=location")).status_code == 200
