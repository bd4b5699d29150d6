"""kill -9 the receiver at random moments: every acknowledged message must survive."""

from __future__ import annotations

import http.client
import random
import signal
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from tests.fakes.receiver_process import spawn
from tests.receiver_fixture import PUBLIC_URL
from tests.twilio_helpers import ACCOUNT_SID, AUTH_TOKEN, form_body, inbound_params, sign


def _post(port: int, params: dict[str, str]) -> int | None:
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": sign(PUBLIC_URL + "/twilio/sms", params),
    }
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("POST", "/twilio/sms", form_body(params), headers)
        response = conn.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


@pytest.mark.slow
def test_every_acknowledged_message_survives_kill_9(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    rng = random.Random(20261127)
    acknowledged: set[str] = set()
    sent_bodies: dict[str, str] = {}
    lock = threading.Lock()
    counter = iter(range(10**9))

    for _cycle in range(8):
        proc, port = spawn(data_dir, PUBLIC_URL, ACCOUNT_SID, AUTH_TOKEN)
        stop = threading.Event()

        def client(port: int = port, stop: threading.Event = stop) -> None:
            while not stop.is_set():
                with lock:
                    n = next(counter)
                params = inbound_params(body=f"message number {n}")
                sid = params["MessageSid"]
                status = _post(port, params)
                with lock:
                    sent_bodies[sid] = params["Body"]
                    if status == 200:
                        acknowledged.add(sid)

        # Replays of already-acknowledged messages must not create duplicates either.
        with lock:
            replay = rng.sample(sorted(acknowledged), min(5, len(acknowledged)))
        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        for sid in replay:
            params = inbound_params(sid, body=sent_bodies[sid])
            assert _post(port, params) in (200, None)
        time.sleep(rng.uniform(0.15, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        stop.set()
        for t in threads:
            t.join()
        if proc.stderr:
            proc.stderr.close()

    assert len(acknowledged) > 50, "the load generator barely ran"
    conn = sqlite3.connect(data_dir / "twoway.sqlite3")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = conn.execute("SELECT sid, body FROM messages").fetchall()
        stored = dict(rows)
        assert len(stored) == len(rows), "a SID was stored twice"
        missing = acknowledged - stored.keys()
        assert not missing, f"{len(missing)} acknowledged messages were lost"
        assert all(stored[sid] == sent_bodies[sid] for sid in acknowledged)
        unread = conn.execute("SELECT sum(unread_count) FROM conversations").fetchone()[0]
        assert unread == len(rows)
    finally:
        conn.close()
