"""A bare receiver process (store + webhook app, no GUI) that tests can kill -9.

Usage: python -m tests.fakes.receiver_process DATA_DIR PUBLIC_URL PORT_FILE
Credentials come from TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN in the environment.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

from desktop.config import Paths
from desktop.gateway.ingest import StoreIngest
from desktop.gateway.receiver import ReceiverThread
from desktop.gateway.webhook import WebhookApp, WebhookCredentials
from desktop.store.service import Store


def main() -> None:
    data_dir, public_url, port_file = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    paths = Paths(data_dir)
    paths.create()
    store = Store(paths.database, paths.backups)
    store.open()
    credentials = WebhookCredentials(
        os.environ["TWILIO_ACCOUNT_SID"], os.environ["TWILIO_AUTH_TOKEN"], public_url
    )
    receiver = ReceiverThread(WebhookApp(StoreIngest(store), lambda: credentials), 0)
    receiver.start()
    partial = port_file.with_suffix(".part")
    partial.write_text(str(receiver.port))
    partial.replace(port_file)
    threading.Event().wait()


if __name__ == "__main__":
    main()
