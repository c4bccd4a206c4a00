"""The district map: a choropleth when the operator loaded boundaries, the tile grid otherwise; hidden
districts show no number; a country's worth of detailed boundaries stays within the page budget."""

from __future__ import annotations

import gzip
import math
import random
import re
from pathlib import Path
from typing import Any

import pytest

from tests import results_people
from tests.harness import Harness, running_app
from ureport.channels.fake_gateway import FakeGateway
from ureport.demo import load_demo_content
from ureport.locations import read_locations_file
from ureport.models import Location
from ureport.polls import save_places
from ureport.settings import Settings
from ureport.web import geo

pytestmark = pytest.mark.anyio

DISTRICTS = Path(__file__).parent / "data" / "made_up_districts.geojson"  # invented shapes and names
LOCATION_TAB = "/polls/safe-streets?tab=location"
# (birth year, sex, district, after_dark): Amani 6 "always"; Baraka 4 "never", 2 "sometimes"; Chemka 2.
PEOPLE = [
    *[("2005", "1", "Amani", "1")] * 6,
    *[("2006", "2", "Baraka", "3")] * 4,
    *[("2004", "1", "Baraka", "2")] * 2,
    *[("2007", "2", "Chemka", "1")] * 2,
]


@pytest.fixture(autouse=True)
def fresh_shapes() -> None:
    """Each test's database has its own boundaries behind the same location ids."""
    geo.forget_cached_shapes()


async def _page(app: Harness, url: str) -> str:
    response = await app.client.get(url)
    assert response.status_code == 200, response.text[:300]
    return response.text


def _titles(page: str) -> dict[str, str]:
    """Each district's text alternative on the first map: name -> value."""
    svg = re.search(r"<svg[^>]*>(?:(?!</svg>).)*</svg>", page, flags=re.S)
    assert svg is not None
    return dict(re.findall(r"<g><title>([^:<]+): ([^<]*)</title><use ", svg.group(0)))


def test_boundaries_are_simplified_to_the_pixel() -> None:
    side = [(i / 250, 0.0) for i in range(250)]  # a square whose edges carry 250 points each
    square = [
        *side,
        *((1.0, y) for _x, y in side),
        *((1 - x, 1.0) for x, _y in side),
        *((0.0, 1 - x) for x, _y in side),
    ]
    ring = [(x * 100, y * 100) for x, y in [*square, square[0]]]
    assert len(geo.simplify(ring)) == 5  # the corners, and the first again to close it
    assert geo.ring_path(ring) == "M0 0l100 0 0 100-100 0z"
    assert geo.ring_path([(0.1, 0.1), (0.3, 0.2), (0.2, 0.4), (0.1, 0.1)]) == ""  # under a pixel: gone
    shapes = geo.project(
        {
            "1": {"type": "Polygon", "coordinates": [[[30, -1], [31, -1], [31, 0], [30, -1]]]},
            "2": {"type": "Point"},
        }
    )
    assert set(shapes.paths) == {"1"} and shapes.width == geo.MAP_WIDTH


async def test_without_boundaries_the_map_is_a_tile_grid(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:
        await results_people.answer(app)
        page = await _page(app, LOCATION_TAB)
        assert 'class="tile"' in page and "<use " not in page
        assert "Mombasa: x" in page  # the hidden district's tile


async def _made_up_country(app: Harness) -> None:
    """What an operator does: `ureport locations load` their boundaries, then people answer."""
    await save_places(read_locations_file(DISTRICTS))
    await load_demo_content()  # the registration flow and the demo poll (no Kenyan counties: places exist)
    await app.app.state.catalog.refresh()
    await results_people.answer(app, PEOPLE)


async def test_loaded_boundaries_draw_a_choropleth(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway, demo=False) as app:
        await _made_up_country(app)
        page = await _page(app, LOCATION_TAB)
        assert 'class="tile"' not in page
        assert page.count('<path id="geo-') == 4  # outlines once, however many questions are mapped
        data = (await app.client.get("/polls/safe-streets/results.json")).json()["questions"][0]
        assert data["key"] == "after_dark"
        # Shaded by the leading answer nationally ("always"), each district saying what the table says.
        assert _titles(page) == _expected(data["tables"]["district"], 0)
        assert _titles(page)["Chemka"] == "x" and _titles(page)["Duma"] == "–"
        assert "Share answering “Always”, by district" in page
        assert "hatched: hidden to protect privacy" in page
        shaded = re.findall(r'<title>[^<]*%</title><use href="#geo-\d+" fill="#', page)
        assert shaded, "some district is published and shaded from the ramp"
        assert "<table>" in page  # the table alternative stays

        never = await _page(app, LOCATION_TAB + "&show=after_dark:never")
        assert _titles(never) == _expected(data["tables"]["district"], 2)
        assert "Share answering “Never”, by district" in never
        assert re.search(r'aria-current="true">Never</a>', never)


async def test_a_hidden_district_shows_no_number(settings: Settings, fake_gateway: FakeGateway) -> None:
    async with running_app(settings, fake_gateway, demo=False) as app:
        await _made_up_country(app)
        chemka = await Location.get(code="MU-CH")
        for show in ("", "&show=after_dark:always", "&show=after_dark:never", "&lang=fr", "&lang=ar"):
            page = await _page(app, LOCATION_TAB + show)
            drawn = re.search(
                rf'<g><title>Chemka[^<]*</title><use href="#geo-{chemka.id}" fill="([^"]+)"', page
            )
            assert drawn is not None, show
            assert not re.search(r"\d", drawn.group(0).split("</title>")[0]), show  # the 2 stays unknown
            assert drawn.group(1).endswith("-hatch)"), show
            row = re.search(r"<th scope=\"row\">Chemka</th>(.*?)</tr>", page, flags=re.S)
            assert row is not None and not re.search(r">\s*[1-9]", row.group(1)), show  # zeros are public


def _expected(table: dict[str, Any], column: int) -> dict[str, str]:
    """The map's text for each district, from the published JSON: a share, x when hidden, – for nobody."""
    expected = {}
    for i, name in enumerate(table["row_labels"]):
        share = table["row_percentages"][i][column]
        hidden = table["cells"][i][column] is None or table["row_totals"][i] is None
        expected[name] = f"{share:.1f}%" if share is not None else ("x" if hidden else "–")
    return expected


def _wiggly_square(west: float, south: float, size: float, rng: random.Random) -> dict[str, Any]:
    """A made-up district with the detail of a surveyed boundary: 1,200 points, rivers and jitter."""
    corners = [(west, south), (west + size, south), (west + size, south + size), (west, south + size)]
    ring = []
    for (x0, y0), (x1, y1) in zip(corners, corners[1:] + corners[:1], strict=True):
        for i in range(300):
            t = i / 300
            river = 0.04 * math.sin(6 * math.pi * t) + 0.02 * math.sin(50 * math.pi * t)
            bend = river + rng.uniform(-0.01, 0.01)
            ring.append(
                [x0 + (x1 - x0) * t + bend * (y1 - y0) / size, y0 + (y1 - y0) * t + bend * (x0 - x1) / size]
            )
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


async def test_a_country_of_detailed_boundaries_stays_light(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    async with running_app(settings, fake_gateway) as app:  # Kenya's 47 counties, invented squares for shapes
        rng = random.Random(47)
        counties = await Location.filter(level=2).order_by("id")
        for n, county in enumerate(counties):
            shape = _wiggly_square(34 + (n % 7) * 1.1, -4.5 + (n // 7) * 1.1, 1.1, rng)
            await Location.filter(id=county.id).update(geometry=shape)
        geo.forget_cached_shapes()
        await results_people.answer(app)
        for i in range(len(results_people.PEOPLE)):  # and the next three questions: four maps on the page
            for reply in ("1", "1", "1"):
                await app.send(results_people.phone(i), reply)
        response = await app.client.get(LOCATION_TAB, headers={"Accept-Encoding": "gzip"})
        page = response.text
        assert page.count('<path id="geo-') == len(counties) == 47
        assert page.count("<use href=") == 4 * 47  # four questions mapped, the outlines written once
        size = len(gzip.compress(response.content))
        assert size < 50_000, size
        print(f"location tab, 47 districts with boundaries, 4 maps: {size} bytes gzip")  # noqa: T201
