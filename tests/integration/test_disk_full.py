"""A full disk on a real small filesystem (a tmpfs; skipped where the sandbox refuses one).

Webhooks get 503 (Twilio keeps them in its log) and the status says the disk is full;
the log file goes quiet instead of printing a traceback per line; a picture that does
not fit says so in plain words and is fetched once there is space; every part recovers
by itself, and the write-ahead log never keeps the space it used.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.config import Paths
from desktop.domain.store_health import HealthKind
from desktop.gateway.ingest import StoreIngest
from desktop.gateway.media import MediaPolicy
from desktop.gateway.media_worker import MediaFetcher
from desktop.gateway.receiver import ReceiverThread
from desktop.gateway.webhook import WebhookApp, WebhookCredentials
from desktop.logs import QuietFileHandler
from desktop.store.service import Store
from tests.damage_helpers import fill_disk, small_filesystem
from tests.integration.test_media import (  # noqa: F401 - fake_media is a fixture
    FakeTwilioMedia,
    _mms_params,
    fake_media,
    jpeg_bytes,
)
from tests.integration.test_sync_harness import wait_until
from tests.receiver_fixture import PUBLIC_URL, RunningReceiver
from tests.twilio_helpers import ACCOUNT_SID, AUTH_TOKEN, inbound_params, new_sid


@pytest.fixture
def small_data(tmp_path: Path) -> Iterator[Paths]:
    with small_filesystem(tmp_path / "small", 3 * 1024) as mount:
        paths = Paths(mount / "data")
        paths.create()
        yield paths


@pytest.fixture
def quiet_log(small_data: Paths) -> Iterator[QuietFileHandler]:
    handler = QuietFileHandler(small_data.log_file, retry_after_s=0.0)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)
    handler.close()


def test_disk_full_then_space_again(
    small_data: Paths,
    quiet_log: QuietFileHandler,
    fake_media: FakeTwilioMedia,  # noqa: F811 - the fixture imported above
    capfd: pytest.CaptureFixture[str],
) -> None:
    paths = small_data
    store = Store(paths.database, paths.backups)
    store.open()
    app = WebhookApp(
        StoreIngest(store), lambda: WebhookCredentials(ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL)
    )
    receiver = ReceiverThread(app, 0, socket_timeout=1.0)
    receiver.start()
    hook = RunningReceiver(store, receiver, app)
    fetcher = MediaFetcher(
        store,
        paths.media,
        paths.thumbnails,
        lambda: MediaPolicy(ACCOUNT_SID, fake_media.api_base),
        lambda: (ACCOUNT_SID, AUTH_TOKEN),
        retry_delays_s=(0.05,) * 50,
    )
    fetcher.start()
    wal = paths.database.with_name(paths.database.name + "-wal")
    filler: Path | None = None
    try:
        assert hook.post_signed("/twilio/sms", inbound_params(body="Before")).status == 200
        # The idle checkpoint empties the WAL: it holds no space at rest.
        wait_until(lambda: wal.stat().st_size == 0, timeout=10, what="the idle checkpoint")

        filler = fill_disk(paths.data_dir)
        for n in range(3):
            reply = hook.post_signed("/twilio/sms", inbound_params(body=f"While full {n}"))
            assert reply.status == 503  # not acknowledged: it stays in Twilio's log
        # What SQLite gave back when it rolled back is taken too, then the log is written.
        second = fill_disk(paths.data_dir, "filler-2.bin")
        for n in range(40):  # more than the slack in the log file's last page
            logging.getLogger("desktop.test").warning("line %d while full: %s", n, "x" * 300)
        second.unlink()
        health = store.health.current
        assert health.kind is HealthKind.DISK_FULL
        assert "free some space" in health.message
        assert quiet_log.is_paused()
        assert hook.count() == 1

        # Some space again: small writes fit, a large picture does not.
        size = filler.stat().st_size
        os.truncate(filler, size - 400 * 1024)
        assert hook.post_signed("/twilio/sms", inbound_params(body="Some space")).status == 200
        assert store.health.current.ok
        big = jpeg_bytes(2400, 2400) + os.urandom(900 * 1024)  # ~1 MB: more than is free
        params = _mms_params(fake_media, [(new_sid("ME"), "image/jpeg", big)])
        assert hook.post_signed("/twilio/sms", params).status == 200

        def picture() -> tuple[str, str]:
            row = store.reader().execute("SELECT state, last_error FROM media").fetchone()
            return (str(row[0]), str(row[1])) if row else ("", "")

        wait_until(lambda: "disk is full" in picture()[1], timeout=10, what="the reason")
        assert picture()[0] == "pending"  # retried, not given up

        filler.unlink()
        filler = None
        wait_until(lambda: picture()[0] == "done", timeout=10, what="the picture")
        logging.getLogger("desktop.test").warning("space again")
        assert not quiet_log.is_paused()
        text = paths.log_file.read_text()
        assert "log lines could not be written" in text
        assert "space again" in text
    finally:
        if filler is not None:
            filler.unlink()
        fetcher.stop()
        receiver.stop()
        store.close()
    assert "Logging error" not in capfd.readouterr().err
