"""Media download over real HTTP: only our Twilio media URLs, credentials only to Twilio,
redirects only to the media host, size caps, sniffing, and decompression bombs."""

from __future__ import annotations

import base64
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from PySide6.QtGui import QColor, QImage
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from desktop.gateway.media import MediaPolicy, MediaRefused, download, sniff
from desktop.gateway.media_worker import MediaFetcher
from desktop.gateway.thumbnails import ImageRefused, make_thumbnail
from desktop.store import queries
from tests.receiver_fixture import RunningReceiver
from tests.twilio_helpers import ACCOUNT_SID, AUTH_TOKEN, inbound_params, new_sid

AUTH = (ACCOUNT_SID, AUTH_TOKEN)


def jpeg_bytes(width: int = 640, height: int = 480) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("#3a7bd5"))
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "JPEG")  # type: ignore[call-overload]
    return bytes(data.data())


def png_bomb(width: int, height: int) -> bytes:
    """A valid-looking PNG header declaring a huge canvas, with almost no data."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload))
            + kind
            + payload
            + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


@dataclass
class FakeTwilioMedia:
    """An API host that wants Basic auth and redirects; a CDN host that must not get auth."""

    api_port: int = 0
    cdn_port: int = 0
    payloads: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    cdn_saw_auth: list[bool] = field(default_factory=list)
    api_requests: int = 0
    redirect_override: str | None = None
    fail_times: int = 0

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def media_url(self, message_sid: str, media_sid: str, account: str = ACCOUNT_SID) -> str:
        return (
            f"{self.api_base}/2010-04-01/Accounts/{account}/Messages/{message_sid}"
            f"/Media/{media_sid}"
        )

    def api_app(self, environ, start_response):  # type: ignore[no-untyped-def]
        request = Request(environ)
        self.api_requests += 1
        expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return Response("auth required", status=401)(environ, start_response)
        if self.fail_times > 0:
            self.fail_times -= 1
            return Response("busy", status=503)(environ, start_response)
        media_sid = request.path.rsplit("/", 1)[-1]
        location = self.redirect_override or f"http://127.0.0.1:{self.cdn_port}/cdn/{media_sid}"
        return Response(status=307, headers={"Location": location})(environ, start_response)

    def cdn_app(self, environ, start_response):  # type: ignore[no-untyped-def]
        request = Request(environ)
        self.cdn_saw_auth.append("Authorization" in request.headers)
        content_type, body = self.payloads.get(request.path.rsplit("/", 1)[-1], ("", b""))
        if not body:
            return Response("gone", status=404)(environ, start_response)
        return Response(body, content_type=content_type)(environ, start_response)


@pytest.fixture
def fake_media() -> Iterator[FakeTwilioMedia]:
    fake = FakeTwilioMedia()
    servers = [
        make_server("127.0.0.1", 0, fake.api_app, threaded=True),
        make_server("127.0.0.1", 0, fake.cdn_app, threaded=True),
    ]
    fake.api_port, fake.cdn_port = servers[0].port, servers[1].port
    threads = [threading.Thread(target=s.serve_forever, args=(0.05,), daemon=True) for s in servers]
    for t in threads:
        t.start()
    yield fake
    for s in servers:
        s.shutdown()


@pytest.fixture
def session() -> Iterator[requests.Session]:
    s = requests.Session()
    s.trust_env = False
    yield s
    s.close()


def test_allowed_url_is_fetched_with_auth_and_redirect_without_leaking_credentials(
    fake_media: FakeTwilioMedia, session: requests.Session, tmp_path: Path
) -> None:
    message_sid, media_sid = new_sid("MM"), new_sid("ME")
    fake_media.payloads[media_sid] = ("image/jpeg", jpeg_bytes())
    policy = MediaPolicy(ACCOUNT_SID, fake_media.api_base)

    got = download(
        session, policy, fake_media.media_url(message_sid, media_sid), message_sid, AUTH, tmp_path
    )

    assert got.path == tmp_path / f"{media_sid}.jpg"
    assert got.sniffed.content_type == "image/jpeg"
    assert got.path.read_bytes() == fake_media.payloads[media_sid][1]
    assert fake_media.cdn_saw_auth == [False]


@pytest.mark.parametrize(
    "make_url",
    [
        lambda f, m, e: (
            f"http://127.0.0.1:9/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{m}/Media/{e}"
        ),
        lambda f, m, e: (
            f"http://169.254.169.254/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{m}/Media/{e}"
        ),
        lambda f, m, e: f.media_url(m, e, account="AC" + "0" * 32),
        lambda f, m, e: f.media_url(new_sid("MM"), e),
        lambda f, m, e: f.media_url(m, e).replace("http://", "https://"),
        lambda f, m, e: f.media_url(m, e).replace("http://", f"http://{ACCOUNT_SID}:x@"),
        lambda f, m, e: f.media_url(m, e) + "?redirect=http://169.254.169.254/",
        lambda f, m, e: f.media_url(m, e).replace(f"/Media/{e}", "/Media/../../../Accounts"),
        lambda f, m, e: "file:///etc/passwd",
    ],
    ids=[
        "loopback-other-port",
        "link-local-metadata",
        "other-account",
        "other-message",
        "scheme-changed",
        "userinfo",
        "query",
        "path-traversal",
        "file-scheme",
    ],
)
def test_anything_but_this_messages_media_is_refused_without_a_request(
    fake_media: FakeTwilioMedia,
    session: requests.Session,
    tmp_path: Path,
    make_url: Callable[[FakeTwilioMedia, str, str], str],
) -> None:
    message_sid, media_sid = new_sid("MM"), new_sid("ME")
    fake_media.payloads[media_sid] = ("image/jpeg", jpeg_bytes())
    policy = MediaPolicy(ACCOUNT_SID, fake_media.api_base)
    with pytest.raises(MediaRefused):
        download(
            session,
            policy,
            make_url(fake_media, message_sid, media_sid),
            message_sid,
            AUTH,
            tmp_path,
        )
    assert fake_media.api_requests == 0
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:22/",
        "https://evil.example.com/steal",
    ],
)
def test_redirect_off_the_media_host_is_refused(
    fake_media: FakeTwilioMedia, session: requests.Session, tmp_path: Path, target: str
) -> None:
    message_sid, media_sid = new_sid("MM"), new_sid("ME")
    fake_media.redirect_override = target
    policy = MediaPolicy(ACCOUNT_SID, fake_media.api_base)
    with pytest.raises(MediaRefused):
        download(
            session,
            policy,
            fake_media.media_url(message_sid, media_sid),
            message_sid,
            AUTH,
            tmp_path,
        )


def test_production_policy_accepts_only_twilio_media_hosts() -> None:
    policy = MediaPolicy(ACCOUNT_SID)
    message_sid, media_sid = new_sid("MM"), new_sid("ME")
    url = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{message_sid}/Media/{media_sid}"
    assert policy.check_source(url, message_sid) == media_sid
    with pytest.raises(MediaRefused):
        policy.check_source(url.replace("api.twilio.com", "api.twilio.com.evil.io"), message_sid)
    with pytest.raises(MediaRefused):
        policy.check_source(url.replace("https", "http"), message_sid)
    policy.check_redirect("https://mms.twiliocdn.com/AC/abc")
    policy.check_redirect("https://s3-external-1.amazonaws.com/media.twiliocdn.com/AC/x")
    for bad in (
        "http://mms.twiliocdn.com/x",
        "https://twiliocdn.com.evil.io/x",
        "https://s3-external-1.amazonaws.com/other-bucket/x",
        "https://127.0.0.1/x",
    ):
        with pytest.raises(MediaRefused):
            policy.check_redirect(bad)


@pytest.mark.parametrize("chunked", [False, True])
def test_media_over_5_mb_is_refused_and_nothing_kept(
    fake_media: FakeTwilioMedia, session: requests.Session, tmp_path: Path, chunked: bool
) -> None:
    message_sid, media_sid = new_sid("MM"), new_sid("ME")
    big = b"\xff\xd8\xff" + b"\0" * (5 * 1024 * 1024 + 10)
    if chunked:
        fake_media.payloads[media_sid] = ("image/jpeg", big)
        original = fake_media.cdn_app

        def streaming(environ, start_response):  # type: ignore[no-untyped-def]
            fake_media.cdn_saw_auth.append(False)
            return Response(
                iter([big[i : i + 65536] for i in range(0, len(big), 65536)]),
                content_type="image/jpeg",
            )(environ, start_response)

        fake_media.cdn_app = streaming  # type: ignore[method-assign]
        del original
    else:
        fake_media.payloads[media_sid] = ("image/jpeg", big)
    policy = MediaPolicy(ACCOUNT_SID, fake_media.api_base)
    with pytest.raises(MediaRefused, match="larger than 5 MB"):
        download(
            session,
            policy,
            fake_media.media_url(message_sid, media_sid),
            message_sid,
            AUTH,
            tmp_path,
        )
    assert not list(tmp_path.iterdir())


def test_bytes_are_sniffed_not_trusted() -> None:
    assert sniff(b"\xff\xd8\xff\xe0....JFIF").content_type == "image/jpeg"
    assert sniff(b"\x89PNG\r\n\x1a\n....").extension == ".png"
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ").content_type == "image/webp"
    assert sniff(b"\x00\x00\x00\x18ftypheic").content_type == "image/heic"
    assert sniff(b"<html><script>alert(1)</script>").content_type == "text/plain"
    assert sniff(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00").extension == ".bin"


def test_decompression_bomb_is_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_bomb(60000, 60000))
    with pytest.raises(ImageRefused, match="too large"):
        make_thumbnail(bomb, tmp_path / "thumb")
    assert not (tmp_path / "thumb.png").exists()


def test_thumbnail_keeps_aspect_and_reports_original_size(tmp_path: Path) -> None:
    source = tmp_path / "photo.jpg"
    source.write_bytes(jpeg_bytes(2000, 1000))
    thumb = make_thumbnail(source, tmp_path / "thumb")
    assert (thumb.width, thumb.height) == (2000, 1000)
    image = QImage(str(thumb.path))
    assert (image.width(), image.height()) == (480, 240)


def _mms_params(fake: FakeTwilioMedia, media: list[tuple[str, str, bytes]]) -> dict[str, str]:
    message_sid = new_sid("MM")
    params = inbound_params(message_sid, body="", NumMedia=str(len(media)))
    for index, (media_sid, content_type, payload) in enumerate(media):
        fake.payloads[media_sid] = (content_type, payload)
        params[f"MediaUrl{index}"] = fake.media_url(message_sid, media_sid)
        params[f"MediaContentType{index}"] = content_type
    return params


def test_fetcher_downloads_after_the_ack_and_makes_thumbnails(
    fake_media: FakeTwilioMedia, running_receiver: RunningReceiver, tmp_path: Path
) -> None:
    store = running_receiver.store
    fetcher = MediaFetcher(
        store,
        tmp_path / "media",
        tmp_path / "thumbs",
        lambda: MediaPolicy(ACCOUNT_SID, fake_media.api_base),
        lambda: AUTH,
        retry_delays_s=(0.05, 0.05),
    )
    fetcher.start()
    try:
        bomb_sid = new_sid("ME")
        params = _mms_params(
            fake_media,
            [
                (new_sid("ME"), "image/jpeg", jpeg_bytes()),
                (bomb_sid, "image/png", png_bomb(50000, 50000)),
            ],
        )
        fake_media.fail_times = 1  # the first download attempt meets a 503 and is retried
        assert running_receiver.post_signed("/twilio/sms", params).status == 200

        conn = store.reader()

        def states() -> list[str]:
            return [r[0] for r in conn.execute("SELECT state FROM media ORDER BY idx")]

        import time

        deadline = time.monotonic() + 10
        while states() != ["done", "refused"] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert states() == ["done", "refused"]
        message = queries.thread_page(conn, queries.conversations(conn)[0].id)[-1]
        picture, bomb = message.media
        assert picture.thumbnail is not None
        assert (tmp_path / "thumbs" / picture.thumbnail).exists()
        assert (picture.width, picture.height) == (640, 480)
        assert "too large" in bomb.last_error
        assert not list((tmp_path / "media").glob(f"{bomb_sid}*"))
    finally:
        fetcher.stop()
