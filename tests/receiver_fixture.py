"""A real receiver on a loopback port, backed by a real store, for webhook tests."""

from __future__ import annotations

import http.client
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import pytest

from desktop.gateway.ingest import StoreIngest
from desktop.gateway.receiver import ReceiverThread
from desktop.gateway.webhook import WebhookApp, WebhookCredentials
from desktop.store.service import Store
from tests.twilio_helpers import ACCOUNT_SID, AUTH_TOKEN, form_body, sign

PUBLIC_URL = "https://calm-otter-1234.ngrok-free.app"


@dataclass
class Reply:
    status: int
    content_type: str
    body: bytes


@dataclass
class RunningReceiver:
    store: Store
    receiver: ReceiverThread
    app: WebhookApp
    public_url: str = PUBLIC_URL

    @property
    def port(self) -> int:
        return self.receiver.port

    def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        timeout: float = 15,
    ) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=dict(headers or {}))
            response = conn.getresponse()
            return Reply(response.status, response.getheader("Content-Type", ""), response.read())
        finally:
            conn.close()

    def post_signed(
        self,
        path: str,
        params: Mapping[str, str],
        *,
        sign_url: str | None = None,
        token: str = AUTH_TOKEN,
        signed_params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        url = sign_url or (self.public_url + path)
        signature = sign(url, signed_params if signed_params is not None else params, token)
        all_headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        }
        all_headers.update(headers or {})
        return self.request("POST", path, form_body(params), all_headers)

    def count(self, table: str = "messages") -> int:
        return int(self.store.reader().execute(f"SELECT count(*) FROM {table}").fetchone()[0])


@pytest.fixture
def running_receiver(store: Store) -> Iterator[RunningReceiver]:
    credentials = WebhookCredentials(ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL)
    app = WebhookApp(StoreIngest(store), lambda: credentials)
    receiver = ReceiverThread(app, 0, socket_timeout=1.0)
    receiver.start()
    yield RunningReceiver(store, receiver, app)
    receiver.stop()
