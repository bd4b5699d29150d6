"""The account side of the app: signing in, setup choices, signing out (``SetupBackend``).

The setup wizard and the settings dialog talk to this object only.  It stores secrets in
the keyring, choices in the settings (one guarded update), and asks the core to restart
the network side on its lifecycle thread — never on the GUI thread.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING

from desktop.config import Settings, SettingsStore, TunnelMode, WebhookPolicy
from desktop.credentials import CredentialSource, TwilioCredentials
from desktop.secrets import Secret, SecretStorage, SecretStore
from desktop.workers import TaskPool

if TYPE_CHECKING:
    from desktop.gateway.rest_types import AccountInfo
    from desktop.network import Network
    from desktop.setup import SetupResult, TwilioLogin

logger = logging.getLogger(__name__)


class AccountSetup:
    """Implements :class:`desktop.setup.SetupBackend` for the dialogs."""

    def __init__(
        self,
        *,
        network: Network,
        secrets: SecretStore,
        settings: SettingsStore,
        tasks: TaskPool,
        on_lifecycle: Callable[[Callable[[], None]], Future[None]],
        demo: bool,
    ) -> None:
        self._network = network
        self._secrets = secrets
        self._settings = settings
        self._tasks = tasks
        self._on_lifecycle = on_lifecycle
        self._demo = demo
        #: Where secrets live, found by :meth:`find_keyring` off the GUI thread: asking the
        #: keyring imports it and may talk to D-Bus, which a dialog must not wait for.
        self._keyring_location = "your computer's keyring"

    def find_keyring(self) -> None:
        """Look up where secrets are kept (slow: call it off the GUI thread)."""
        if not self._demo:
            self._keyring_location = self._secrets.where()

    def secret_storage(self) -> Future[SecretStorage]:
        """Where secrets would be kept (the wizard says so before anything is typed)."""
        return self._tasks.submit(self._secrets.storage)

    def unlock(self, passphrase: str) -> Future[None]:
        """Open the encrypted credentials file, then connect with what it holds.

        The future fails with :class:`desktop.secret_file.WrongPassphrase` (plain words).
        """

        def unlock_then_start() -> None:
            self._secrets.use_passphrase(passphrase)
            self._network.restart()

        return self._on_lifecycle(unlock_then_start)

    def check_login(self, login: TwilioLogin) -> Future[AccountInfo]:
        """Fetch the account and its numbers with these credentials (never stores them)."""
        from desktop.gateway.rest import RestGateway

        login = login.stripped()
        credentials = TwilioCredentials(
            login.account_sid, login.auth_token, login.api_key or None, login.api_secret or None
        )

        def check() -> AccountInfo:
            gateway = RestGateway(credentials, self._network.api_base_url)
            try:
                return gateway.fetch_account()
            finally:
                gateway.close()

        return self._tasks.submit(check)

    def apply_setup(self, result: SetupResult) -> Future[None]:
        """Store the secrets and the choices, then reconnect with them."""

        def store_then_restart() -> None:
            if result.passphrase:
                self._secrets.use_passphrase(result.passphrase)
            if not self._credentials_from_environment():
                self._store_secrets(result)
            elif result.ngrok_authtoken:
                self._secrets.set(Secret.NGROK_AUTHTOKEN, result.ngrok_authtoken)
            self._settings.update(lambda settings: _apply(settings, result))
            self.find_keyring()
            logger.info("Setup applied: number %s, %s", result.phone_number, result.tunnel.value)
            self._network.restart(force_webhook=result.take_over_foreign_webhook)

        return self._on_lifecycle(store_then_restart)

    def _store_secrets(self, result: SetupResult) -> None:
        login = result.login.stripped()
        self._secrets.set(Secret.ACCOUNT_SID, login.account_sid)
        self._secrets.set(Secret.AUTH_TOKEN, login.auth_token)
        if login.api_key and login.api_secret:
            self._secrets.set(Secret.API_KEY, login.api_key)
            self._secrets.set(Secret.API_SECRET, login.api_secret)
        else:
            self._secrets.delete(Secret.API_KEY)
            self._secrets.delete(Secret.API_SECRET)
        if result.ngrok_authtoken:
            self._secrets.set(Secret.NGROK_AUTHTOKEN, result.ngrok_authtoken)

    def _credentials_from_environment(self) -> bool:
        credentials = self._network.credentials
        return credentials is not None and credentials.source is CredentialSource.ENVIRONMENT

    def start_demo(self) -> None:
        """Open the demo in a new process (its own data folder); this one keeps running."""
        if getattr(sys, "frozen", False):
            command = [sys.executable, "--demo"]
        else:
            command = [sys.executable, "-m", "desktop", "--demo"]
        subprocess.Popen(command, start_new_session=True)

    def sign_out(self) -> Future[None]:
        def sign_out() -> None:
            self._network.sign_out()
            self._secrets.delete_all()
            self._settings.update(lambda settings: settings.replace(configured=False))

        return self._on_lifecycle(sign_out)

    def restore_previous_webhook(self) -> Future[str]:
        def restore() -> str:
            sync = self._network.sync
            if sync is None:
                return "Sign in first: Twoway needs your Twilio account to change the number."
            return sync.restore_webhook().message

        return self._tasks.submit(restore)

    def keyring_location(self) -> str:
        if self._credentials_from_environment():
            return "the environment (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN)"
        return self._keyring_location

    def current_login(self) -> TwilioLogin | None:
        from desktop.setup import TwilioLogin

        credentials = self._network.credentials
        if credentials is None or self._demo:
            return None
        return TwilioLogin(
            credentials.account_sid,
            credentials.auth_token,
            credentials.api_key or "",
            credentials.api_secret or "",
        )


def _apply(settings: Settings, result: SetupResult) -> Settings:
    changes: dict[str, object] = {
        "phone_number": result.phone_number,
        "tunnel_mode": TunnelMode(result.tunnel.value),
        "public_url": result.public_url,
        "ngrok_domain": result.ngrok_domain,
        "poll_interval_s": result.poll_interval_s,
        "webhook_policy": WebhookPolicy(result.webhook_policy),
        "configured": True,
    }
    if result.auto_reply_text is not None:
        changes["auto_reply_text"] = result.auto_reply_text
    return settings.replace(**changes)
