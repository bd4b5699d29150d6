"""The simulator's Twilio Sync, driven by twilio-python's ``client.sync.v1`` through the
app's own gateway (``https://sync.twilio.com`` → ``<simulator>/sync``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from desktop.gateway.rest import RestGateway, routed_url
from desktop.gateway.rest_types import TwilioProblem
from desktop.simulator.server import SimulatedTwilio
from tests.integration.test_sync_harness import Credentials
from tests.twilio_helpers import ACCOUNT_SID, AUTH_TOKEN


@pytest.fixture
def sim() -> Iterator[SimulatedTwilio]:
    with SimulatedTwilio(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN) as s:
        yield s


@pytest.fixture
def gateway(sim: SimulatedTwilio) -> Iterator[RestGateway]:
    g = RestGateway(Credentials(), sim.base_url, read_timeout=5)
    yield g
    g.close()


def _service(gateway: RestGateway) -> str:
    created = gateway.call("service", lambda c: c.sync.v1.services.create(friendly_name="Twoway"))
    return str(created.sid)


def test_sync_host_is_routed_under_the_api_base() -> None:
    assert (
        routed_url("https://sync.twilio.com/v1/Services/IS1/Documents", "http://127.0.0.1:9")
        == "http://127.0.0.1:9/sync/v1/Services/IS1/Documents"
    )


def test_document_revisions_and_if_match(gateway: RestGateway, sim: SimulatedTwilio) -> None:
    service = _service(gateway)

    def docs(c: Any) -> Any:
        return c.sync.v1.services(service).documents

    doc = gateway.call("create", lambda c: docs(c).create(unique_name="lease", data={"a": 1}))
    assert doc.revision == "0"
    assert doc.data == {"a": 1}
    updated = gateway.call(
        "update", lambda c: docs(c)("lease").update(data={"a": 2}, if_match=doc.revision)
    )
    assert updated.revision != doc.revision
    assert updated.data == {"a": 2}
    with pytest.raises(TwilioProblem) as stale:
        gateway.call("stale", lambda c: docs(c)("lease").update(data={"a": 3}, if_match="0"))
    assert stale.value.code == 54103
    assert stale.value.status == 412
    assert gateway.call("fetch", lambda c: docs(c)(doc.sid).fetch()).data == {"a": 2}
    with pytest.raises(TwilioProblem) as taken:
        gateway.call("dup", lambda c: docs(c).create(unique_name="lease", data={}))
    assert taken.value.code == 54301
    assert sim.sync.requests(ACCOUNT_SID) == 6


def test_ttl_makes_a_document_and_an_item_expire(gateway: RestGateway) -> None:
    service = _service(gateway)
    gateway.call(
        "create", lambda c: c.sync.v1.services(service).documents.create(unique_name="d", ttl=1)
    )
    maps = lambda c: c.sync.v1.services(service).sync_maps  # noqa: E731
    gateway.call("map", lambda c: maps(c).create(unique_name="m"))
    gateway.call("item", lambda c: maps(c)("m").sync_map_items.create(key="k", data={}, ttl=1))
    before = gateway.call("map", lambda c: maps(c)("m").fetch()).revision
    time.sleep(1.1)
    with pytest.raises(TwilioProblem) as gone:
        gateway.call("fetch", lambda c: c.sync.v1.services(service).documents("d").fetch())
    assert gone.value.code == 54100
    assert gateway.call("items", lambda c: maps(c)("m").sync_map_items.list()) == []
    assert gateway.call("map", lambda c: maps(c)("m").fetch()).revision != before


def test_map_items_with_revisions_and_paging(gateway: RestGateway) -> None:
    service = _service(gateway)
    maps = lambda c: c.sync.v1.services(service).sync_maps  # noqa: E731
    gateway.call("map", lambda c: maps(c).create(unique_name="contacts"))
    items = lambda c: maps(c)("contacts").sync_map_items  # noqa: E731
    for n in range(7):
        gateway.call(
            "item", lambda c, n=n: items(c).create(key=f"contact:+1503555010{n}", data={"n": n})
        )
    listed = gateway.call("list", lambda c: items(c).list(page_size=3))
    assert [i.data["n"] for i in listed] == list(range(7))
    item = gateway.call("get", lambda c: items(c)("contact:+15035550103").fetch())
    gateway.call(
        "upd",
        lambda c: items(c)("contact:+15035550103").update(data={"n": 33}, if_match=item.revision),
    )
    with pytest.raises(TwilioProblem) as stale:
        gateway.call(
            "upd",
            lambda c: items(c)("contact:+15035550103").update(
                data={"n": 0}, if_match=item.revision
            ),
        )
    assert stale.value.code == 54205
    assert stale.value.status == 412
    with pytest.raises(TwilioProblem) as exists:
        gateway.call("dup", lambda c: items(c).create(key="contact:+15035550103", data={}))
    assert exists.value.code == 54208


def test_rate_limit_answers_429_54009(gateway: RestGateway, sim: SimulatedTwilio) -> None:
    sim.sync.throttle(ACCOUNT_SID, 1)
    with pytest.raises(TwilioProblem) as limited:
        _service(gateway)
    assert limited.value.status == 429
    assert limited.value.code == 54009
    assert _service(gateway).startswith("IS")
