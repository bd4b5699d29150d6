"""PageToken paging: every record exactly once, even while new ones arrive on top."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from desktop.simulator.resources import Pager


def _page(items: list[str], args: dict[str, str]) -> tuple[list[str], dict[str, object]]:
    pager: Pager[str] = Pager.from_args(args, lambda sid: sid)
    page = pager.select(items)
    return page, pager.payload("messages", [{"sid": s} for s in page], "/x.json", [("To", "+1")])


def test_pages_walk_every_record_once_despite_new_arrivals() -> None:
    items = [f"SM{i:032d}" for i in range(120, 0, -1)]  # newest first
    seen: list[str] = []
    args = {"PageSize": "50"}
    while True:
        page, payload = _page(items, args)
        seen.extend(page)
        items.insert(0, f"SM{len(items) + 1000:032d}")  # a new message arrives meanwhile
        next_uri = payload["next_page_uri"]
        if next_uri is None:
            break
        assert isinstance(next_uri, str)
        query = dict(parse_qsl(urlsplit(next_uri).query))
        assert query["To"] == "+1"
        args = query
    assert seen == [f"SM{i:032d}" for i in range(120, 0, -1)]


def test_page_size_is_capped_and_envelope_is_complete() -> None:
    page, payload = _page([f"SM{i:032d}" for i in range(3)], {"PageSize": "5000"})
    assert payload["page_size"] == 1000
    assert (payload["start"], payload["end"], payload["page"]) == (0, 2, 0)
    assert payload["next_page_uri"] is None
    assert payload["previous_page_uri"] is None
    assert len(page) == 3
