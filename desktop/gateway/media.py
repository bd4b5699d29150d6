"""Downloading MMS media safely: which URLs, which hosts, how much, and what it really is.

A webhook's ``MediaUrl{N}`` is attacker-influenced data until proven otherwise, and we
fetch it with our Twilio credentials.  So a URL is fetched only when it is exactly a media
resource of *this* message in *our* account on Twilio's API host; credentials go to that
host only; a redirect is followed only to Twilio's media CDN, without credentials; the
body is streamed with a hard size cap; and the bytes are sniffed, never trusted by type.
"""

from __future__ import annotations

import errno
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import SplitResult, urljoin, urlsplit

if TYPE_CHECKING:
    import requests

logger = logging.getLogger(__name__)

MAX_MEDIA_BYTES: Final = 5 * 1024 * 1024
MAX_REDIRECTS: Final = 3
CONNECT_TIMEOUT_S: Final = 5.0
READ_TIMEOUT_S: Final = 30.0
TWILIO_API_HOST: Final = "api.twilio.com"
_MEDIA_PATH: Final = re.compile(
    r"^/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/Messages/((?:SM|MM)[0-9a-fA-F]{32})"
    r"/Media/(ME[0-9a-fA-F]{32})$"
)


class MediaRefused(Exception):
    """The URL or the content breaks a rule; never retried."""


class MediaUnavailable(Exception):
    """A temporary failure (network, 5xx, timeout, a full disk); retried with backoff."""


def describe_failure(exc: BaseException) -> str:
    """Plain words for a failure outside the download rules (shown on the picture's row)."""
    if isinstance(exc, OSError):
        if exc.errno == errno.ENOSPC:
            return "the disk is full: free some space and Twoway will fetch the picture again"
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return "Twoway is not allowed to save pictures in its media folder"
        return f"the picture could not be saved ({exc.strerror or exc})"
    return "unexpected error"


@dataclass(frozen=True)
class MediaPolicy:
    """Which URLs may be fetched and where redirects may lead.

    ``api_base_url`` is ``https://api.twilio.com`` normally, or ``TWOWAY_TWILIO_API_URL``
    (the simulator or a test server); redirects then may also go to that host name.
    """

    account_sid: str
    api_base_url: str = "https://" + TWILIO_API_HOST

    def check_source(self, url: str, message_sid: str) -> str:
        """Return the media SID when ``url`` is allowed for ``message_sid``; else raise."""
        parts = urlsplit(url)
        api = urlsplit(self.api_base_url)
        if parts.username or parts.password:
            raise MediaRefused("media URL carries credentials")
        if (
            parts.scheme != api.scheme
            or parts.hostname != api.hostname
            or (_port(parts) != _port(api))
        ):
            raise MediaRefused(f"media URL is not on {api.hostname}")
        if parts.query or parts.fragment:
            raise MediaRefused("media URL has a query or fragment")
        match = _MEDIA_PATH.match(parts.path)
        if match is None:
            raise MediaRefused("media URL is not a Twilio media resource")
        if match.group(1) != self.account_sid:
            raise MediaRefused("media URL belongs to another account")
        if match.group(2) != message_sid:
            raise MediaRefused("media URL belongs to another message")
        return match.group(3)

    def check_redirect(self, url: str) -> None:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.username or parts.password:
            raise MediaRefused("redirect carries credentials")
        api = urlsplit(self.api_base_url)
        if api.hostname != TWILIO_API_HOST and host == api.hostname:
            return  # the simulator's or a test's media host
        if parts.scheme != "https":
            raise MediaRefused("redirect to a non-HTTPS URL")
        if host == "twiliocdn.com" or host.endswith(".twiliocdn.com"):
            return
        if host == "s3-external-1.amazonaws.com" and parts.path.startswith("/media.twiliocdn.com/"):
            return
        raise MediaRefused(f"redirect to {host or 'an unknown host'} is not a Twilio media host")


def _port(parts: SplitResult) -> int:
    if parts.port is not None:
        return parts.port
    return 443 if parts.scheme == "https" else 80


@dataclass(frozen=True)
class Sniffed:
    """What the bytes are, whatever the sender claimed."""

    content_type: str
    extension: str

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


_SIGNATURES: Final[tuple[tuple[bytes, int, str, str], ...]] = (
    (b"\xff\xd8\xff", 0, "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png", ".png"),
    (b"GIF87a", 0, "image/gif", ".gif"),
    (b"GIF89a", 0, "image/gif", ".gif"),
    (b"BM", 0, "image/bmp", ".bmp"),
    (b"%PDF-", 0, "application/pdf", ".pdf"),
    (b"#!AMR", 0, "audio/amr", ".amr"),
    (b"OggS", 0, "audio/ogg", ".ogg"),
    (b"ID3", 0, "audio/mpeg", ".mp3"),
    (b"BEGIN:VCARD", 0, "text/vcard", ".vcf"),
)


def sniff(head: bytes) -> Sniffed:
    """Identify common MMS payloads from their first bytes; unknown → a neutral .bin file."""
    for magic, offset, content_type, extension in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return Sniffed(content_type, extension)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("image/webp", ".webp")
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"hevc"):
            return Sniffed("image/heic", ".heic")
        if brand.startswith(b"3g"):
            return Sniffed("video/3gpp", ".3gp")
        return Sniffed("video/mp4", ".mp4")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return Sniffed("application/octet-stream", ".bin")
    if text.isprintable() or all(c.isprintable() or c in "\r\n\t" for c in text):
        return Sniffed("text/plain", ".txt")
    return Sniffed("application/octet-stream", ".bin")


@dataclass(frozen=True)
class Downloaded:
    path: Path
    size: int
    sniffed: Sniffed


def _stream(response: requests.Response, limit: int) -> Iterator[bytes]:
    declared = response.headers.get("Content-Length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise MediaRefused(f"media is larger than {limit // (1024 * 1024)} MB")
    total = 0
    for chunk in response.iter_content(chunk_size=64 * 1024):
        total += len(chunk)
        if total > limit:
            raise MediaRefused(f"media is larger than {limit // (1024 * 1024)} MB")
        yield chunk


def download(
    session: requests.Session,
    policy: MediaPolicy,
    url: str,
    message_sid: str,
    auth: tuple[str, str],
    dest_dir: Path,
    *,
    max_bytes: int = MAX_MEDIA_BYTES,
) -> Downloaded:
    """Fetch one media item into ``dest_dir`` as ``<MediaSid><ext>``; raise on any rule break."""
    import requests

    media_sid = policy.check_source(url, message_sid)
    current = url
    credentials: tuple[str, str] | None = auth
    try:
        for _ in range(MAX_REDIRECTS + 1):
            response = session.get(
                current,
                auth=credentials,
                stream=True,
                allow_redirects=False,
                timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S),
            )
            with response:
                if response.status_code in (301, 302, 303, 307, 308):
                    location = response.headers.get("Location", "")
                    if not location:
                        raise MediaRefused("redirect without a location")
                    current = urljoin(current, location)
                    policy.check_redirect(current)
                    credentials = None  # never send Twilio credentials to the CDN
                    continue
                if response.status_code in (401, 403):
                    raise MediaUnavailable(
                        f"Twilio refused the media download "
                        f"({response.status_code}); check the credentials"
                    )
                if response.status_code == 404:
                    raise MediaRefused("the media no longer exists at Twilio")
                if response.status_code >= 500 or response.status_code == 429:
                    raise MediaUnavailable(f"Twilio answered {response.status_code}")
                if response.status_code != 200:
                    raise MediaRefused(f"unexpected answer {response.status_code}")
                return _save(_stream(response, max_bytes), dest_dir, media_sid)
        raise MediaRefused("too many redirects")
    except requests.RequestException as exc:
        raise MediaUnavailable(f"network problem: {type(exc).__name__}") from exc


def _save(chunks: Iterator[bytes], dest_dir: Path, media_sid: str) -> Downloaded:
    dest_dir.mkdir(parents=True, exist_ok=True)
    partial = dest_dir / f".{media_sid}.part"
    size = 0
    head = b""
    try:
        with partial.open("wb") as handle:
            for chunk in chunks:
                if len(head) < 64:
                    head += chunk[: 64 - len(head)]
                handle.write(chunk)
                size += len(chunk)
        if size == 0:
            raise MediaRefused("the media is empty")
        sniffed = sniff(head)
        final = dest_dir / f"{media_sid}{sniffed.extension}"
        partial.replace(final)
    except OSError as exc:  # our disk, not Twilio: worth another try later
        partial.unlink(missing_ok=True)
        raise MediaUnavailable(describe_failure(exc)) from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return Downloaded(final, size, sniffed)
