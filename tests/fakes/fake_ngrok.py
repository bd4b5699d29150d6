"""A stand-in for the ngrok agent that the real pyngrok can drive, entirely on 127.0.0.1.

It accepts the command lines pyngrok uses (``start --none --log stdout --config FILE``,
``version``, ``config add-authtoken``…), prints ngrok's logfmt lines (``starting web
service``, ``client session established``, ``tunnel session started``), serves the agent
API (``/api/endpoints``, ``/api/tunnels``, ``/api/status``) on the config's ``web_addr`` and
plays the ngrok edge: every endpoint gets a loopback HTTP forwarder that relays requests
to the upstream, while its ``url`` looks like ``https://<random>.ngrok-free.app`` (or the
requested domain). With a ``verify-webhook``/``twilio`` traffic policy the forwarder checks
``X-Twilio-Signature`` against the public URL, as ngrok's edge would.

Tests use :class:`FakeNgrok`::

    fake = FakeNgrok(tmp_path / "ngrok-bin")        # writes the ``ngrok`` launcher there
    fake.configure(expected_authtoken="tok-123")    # behaviour for the next agent starts
    settings = TunnelSettings(auth_token="tok-123", ngrok_path=str(fake.launcher))
    ...
    forwarder = fake.forwarder_for(public_url)      # "http://127.0.0.1:PORT": the "edge"
    fake.agent(pid)["authtoken_via"]                # "env", "argv" or None

Behaviour (``FakeNgrok.configure``; read by each agent when it starts):
``expected_authtoken`` (other tokens get ERR_NGROK_107 with the token quoted, as ngrok does;
none gets ERR_NGROK_4018), ``session_limit`` (ERR_NGROK_108 and exit), ``offline`` (keeps
logging failed reconnects and never establishes a session), ``hang_on_start`` (one line,
then silence), ``exit_after`` (seconds online before dying with an error), ``blip_after`` /
``blip_seconds`` / ``rotate_urls_on_blip`` (session lost and back, optionally with new URLs;
``quiet_recovery``: back without logging it, only ``/api/status`` says so),
``reserved_domains`` (a list: other requested domains get ERR_NGROK_18006).

Each agent writes ``agents/<pid>.json`` next to the launcher: its argv, how it got the
authtoken, its API address and endpoints (public URL → forwarder, upstream, options).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import http.client
import importlib
import json
import os
import secrets
import signal
import sys
import threading
import urllib.parse
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

BEHAVIOUR_FILE = "behaviour.json"
AGENTS_DIR = "agents"
VERSION = "3.30.0"
_ENDPOINT_FIELDS = frozenset(
    {
        "name",
        "url",
        "upstream",
        "inspect",
        "traffic_policy",
        "pooling_enabled",
        "metadata",
        "description",
        "bindings",
    }
)


# ---------------------------------------------------------------------------- test side


class FakeNgrok:
    """A directory holding the fake ``ngrok`` launcher, its behaviour and agents' state."""

    def __init__(self, directory: Path, *, name: str = "ngrok") -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.launcher = write_launcher(self.directory, name=name)
        self.configure()

    def configure(self, **behaviour: Any) -> None:
        """Replace the behaviour of agents started from now on."""
        path = self.directory / BEHAVIOUR_FILE
        path.write_text(json.dumps(behaviour), encoding="utf-8")

    def agents(self) -> list[dict[str, Any]]:
        folder = self.directory / AGENTS_DIR
        found = []
        for path in sorted(folder.glob("*.json")) if folder.exists() else []:
            with contextlib.suppress(OSError, ValueError):
                found.append(json.loads(path.read_text(encoding="utf-8")))
        return found

    def agent(self, pid: int) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(
            (self.directory / AGENTS_DIR / f"{pid}.json").read_text(encoding="utf-8")
        )
        return data

    def endpoint_for(self, public_url: str) -> dict[str, Any]:
        for agent in self.agents():
            if agent.get("state") != "online":
                continue
            for endpoint in agent.get("endpoints", {}).values():
                if endpoint["url"] == public_url:
                    found: dict[str, Any] = endpoint
                    return found
        raise LookupError(f"no running fake agent serves {public_url}")

    def forwarder_for(self, public_url: str) -> str:
        """The loopback address standing in for ``public_url`` on the internet."""
        return str(self.endpoint_for(public_url)["forwarder"])


def write_launcher(directory: Path, *, name: str = "ngrok", python: str | None = None) -> Path:
    """An executable named like the agent that runs this module with ``directory`` as home."""
    launcher = Path(directory) / name
    source = Path(__file__).resolve()
    launcher.write_text(
        f"#!{python or sys.executable}\n"
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('fake_ngrok_agent', {str(source)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        f"sys.exit(module.main(sys.argv[1:], home={str(directory)!r}))\n",
        encoding="utf-8",
    )
    launcher.chmod(0o755)
    return launcher


def twilio_signature(secret: str, url: str, params: dict[str, str]) -> str:
    """Twilio's X-Twilio-Signature: HMAC-SHA1 over the URL and the sorted form fields."""
    payload = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    digest = hmac.new(secret.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


# ---------------------------------------------------------------------------- agent side


def _quote(value: object) -> str:
    text = str(value)
    if text and not any(ch in text for ch in ' "=\n\r\\'):
        return text
    escaped = (
        text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    return f'"{escaped}"'


def log(lvl: str, msg: str, **fields: object) -> None:
    """One logfmt line the way ngrok writes them (``lvl=eror``, ``err="…\\r\\n"``)."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
    parts = [f"t={stamp}", f"lvl={lvl}", f"msg={_quote(msg)}"]
    parts += [f"{key}={_quote(value)}" for key, value in fields.items()]
    with contextlib.suppress(OSError, ValueError):
        print(" ".join(parts), flush=True)


def _upstream_address(url: str) -> tuple[str, int]:
    if url.isdigit():
        return "127.0.0.1", int(url)
    parsed = urllib.parse.urlsplit(url if "://" in url else f"http://{url}")
    return parsed.hostname or "127.0.0.1", parsed.port or 80


class Agent:
    def __init__(self, home: Path, argv: list[str], options: dict[str, str | None]) -> None:
        self.home = home
        self.argv = argv
        self.options = options
        self.behaviour: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):
            self.behaviour = json.loads((home / BEHAVIOUR_FILE).read_text(encoding="utf-8"))
        self.lock = threading.RLock()
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.forwarders: dict[str, ThreadingHTTPServer] = {}
        self.session_up = False
        self.state = "starting"
        self.api: ThreadingHTTPServer | None = None
        self.done = threading.Event()
        self.exit_code = 0
        token_in_argv = options.get("authtoken")
        token_in_env = os.environ.get("NGROK_AUTHTOKEN")
        self.token = token_in_argv or token_in_env
        self.token_via = "argv" if token_in_argv else ("env" if token_in_env else None)

    # -- state file

    def save(self) -> None:
        folder = self.home / AGENTS_DIR
        folder.mkdir(exist_ok=True)
        with self.lock:
            data = {
                "pid": os.getpid(),
                "argv": self.argv,
                "authtoken_via": self.token_via,
                "state": self.state,
                "api": None if self.api is None else f"http://127.0.0.1:{self.api.server_port}",
                "endpoints": self.endpoints,
            }
        path = folder / f"{os.getpid()}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, path)

    # -- lifecycle

    def run(self) -> int:
        config = self._read_config()
        log("info", "open config file", path=self.options.get("config") or "", err="<nil>")
        if self.behaviour.get("hang_on_start"):
            self.state = "hung"
            self.save()
            self.done.wait()
            return 0
        host, _, port = str(config.get("web_addr", "127.0.0.1:0")).rpartition(":")
        try:
            self.api = ThreadingHTTPServer((host or "127.0.0.1", int(port)), _api_handler(self))
        except OSError as exc:
            self._die(f"failed to start web service: {exc}")
            return 1
        self.api.daemon_threads = True
        _serve(self.api)
        log(
            "info",
            "starting web service",
            obj="web",
            addr=f"127.0.0.1:{self.api.server_port}",
            allow_hosts="[]",
        )
        self.save()
        problem = self._session_problem()
        if problem is not None:
            self._die(problem)
            return 1
        if self.behaviour.get("offline"):
            while not self.done.wait(0.2):
                log(
                    "eror",
                    "failed to reconnect session",
                    obj="tunnels.session",
                    err="dial tcp: lookup connect.ngrok-agent.com: no such host",
                )
            return 0
        self._session_started()
        self.state = "online"
        self.save()
        for key, action in (("exit_after", self._crash), ("blip_after", self._blip)):
            if self.behaviour.get(key) is not None:
                timer = threading.Timer(float(self.behaviour[key]), action)
                timer.daemon = True
                timer.start()
        self.done.wait()
        self._shutdown()
        return self.exit_code

    def stop(self, *_: object) -> None:
        log("info", "received stop request", obj="app", stopReq="{err:<nil> restart:false}")
        self.done.set()

    def _read_config(self) -> dict[str, Any]:
        path = self.options.get("config")
        if not path:
            return {}
        yaml = importlib.import_module("yaml")
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
        agent: dict[str, Any] = data.get("agent") or {}
        return agent

    def _session_problem(self) -> str | None:
        expected = self.behaviour.get("expected_authtoken")
        if not self.token:
            return (
                "authentication failed: Usage of ngrok requires a verified account and "
                "authtoken.\n\nSign up for an account: https://dashboard.ngrok.com/signup\r\n"
                "\r\nERR_NGROK_4018\r\n"
            )
        if expected is not None and self.token != expected:
            return (
                "authentication failed: The authtoken you specified is properly formed, but "
                f"it is invalid.\nYour authtoken: {self.token}\r\n\r\nERR_NGROK_107\r\n"
            )
        if self.behaviour.get("session_limit"):
            return (
                "Your account is limited to 1 simultaneous ngrok agent sessions.\r\n\r\n"
                "ERR_NGROK_108\r\n"
            )
        return None

    def _session_started(self) -> None:
        with self.lock:
            self.session_up = True
        log("info", "client session established", obj="tunnels.session")
        log("info", "tunnel session started", obj="tunnels.session")

    def _die(self, err: str) -> None:
        log("eror", "session closing", obj="tunnels.session", err=err)
        log("crit", "command failed", err=err)
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(f"ERROR:  {err.strip()}\n")
        self.state = "exited"
        self.save()

    def _crash(self) -> None:
        self.exit_code = 1
        log("eror", "session closing", obj="tunnels.session", err="simulated crash")
        self.done.set()

    def _blip(self) -> None:
        with self.lock:
            self.session_up = False
        log(
            "eror",
            "heartbeat timeout, terminating session",
            obj="tunnels.session",
            err="heartbeat timeout",
        )
        log("eror", "session closing", obj="tunnels.session", err="heartbeat timeout")
        log(
            "eror",
            "failed to reconnect session",
            obj="tunnels.session",
            err="dial tcp: i/o timeout",
        )
        if self.done.wait(float(self.behaviour.get("blip_seconds", 0.3))):
            return
        if self.behaviour.get("rotate_urls_on_blip"):
            with self.lock:
                for endpoint in self.endpoints.values():
                    endpoint["url"] = f"https://{secrets.token_hex(6)}.ngrok-free.app"
        self.save()
        if self.behaviour.get("quiet_recovery"):
            with self.lock:
                self.session_up = True
        else:
            self._session_started()

    def _shutdown(self) -> None:
        with self.lock:
            forwarders = list(self.forwarders.values())
            self.forwarders.clear()
            self.state = "exited"
        for server in forwarders:
            server.shutdown()
            server.server_close()
        self.save()
        if self.api is not None:
            self.api.shutdown()
            self.api.server_close()

    # -- endpoints

    def create_endpoint(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        unknown = sorted(set(body) - _ENDPOINT_FIELDS)
        if unknown:
            return 400, _error(
                102, 400, "invalid endpoint configuration", f"unknown field {unknown}"
            )
        name = body.get("name")
        upstream = (body.get("upstream") or {}).get("url")
        if not name or not upstream:
            return 400, _error(102, 400, "invalid endpoint configuration", "name and upstream")
        requested = str(body.get("url") or "")
        host = urllib.parse.urlsplit(requested).hostname if "://" in requested else requested
        policy = body.get("traffic_policy")
        secret = None
        if policy:
            secret = _twilio_secret(policy)
            if secret == "":
                return 502, _error(103, 502, "failed to start tunnel", "ERR_NGROK_7027")
        with self.lock:
            if name in self.endpoints:
                return 400, _error(102, 400, "invalid endpoint configuration", "name in use")
            if host:
                reserved = self.behaviour.get("reserved_domains")
                if reserved is not None and host not in reserved:
                    return 502, _error(
                        103,
                        502,
                        "failed to start tunnel",
                        "failed to start tunnel: This account does not have any domains or "
                        "addresses reserved that match the provided URL.\r\n\r\n"
                        "ERR_NGROK_18006\r\n",
                    )
                public_url = f"https://{host}"
            else:
                public_url = f"https://{secrets.token_hex(6)}.ngrok-free.app"
            if any(e["url"] == public_url for e in self.endpoints.values()):
                return 502, _error(103, 502, "failed to start tunnel", "ERR_NGROK_334")
            forwarder = ThreadingHTTPServer(("127.0.0.1", 0), _edge_handler(self, name))
            forwarder.daemon_threads = True
            _serve(forwarder)
            self.forwarders[name] = forwarder
            endpoint = {
                "name": name,
                "uri": f"/api/endpoints/{name}",
                "url": public_url,
                "upstream": {"url": upstream, "protocol": "http1"},
                "inspect": body.get("inspect", True),
                "traffic_policy": policy or "",
                "pooling_enabled": bool(body.get("pooling_enabled", False)),
                "forwarder": f"http://127.0.0.1:{forwarder.server_port}",
                "verify_twilio": secret is not None,
                "received": body,
            }
            self.endpoints[name] = endpoint
        log("info", "started tunnel", obj="tunnels", name=name, addr=upstream, url=public_url)
        self.save()
        return 201, _public(endpoint)

    def delete_endpoint(self, name: str) -> bool:
        with self.lock:
            endpoint = self.endpoints.pop(name, None)
            forwarder = self.forwarders.pop(name, None)
        if endpoint is None:
            return False
        if forwarder is not None:
            threading.Thread(target=_close_server, args=(forwarder,), daemon=True).start()
        self.save()
        return True


def _serve(server: ThreadingHTTPServer) -> None:
    # A short poll interval keeps shutdown() (and so the agent's exit) quick.
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()


def _close_server(server: ThreadingHTTPServer) -> None:
    server.shutdown()
    server.server_close()


def _public(endpoint: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in endpoint.items() if k not in ("received", "verify_twilio")}
    shown["metrics"] = {"conns": {"count": 0, "gauge": 0}, "http": {"count": 0}}
    return shown


def _error(code: int, status: int, msg: str, err: str) -> dict[str, Any]:
    return {"error_code": code, "status_code": status, "msg": msg, "details": {"err": err}}


def _twilio_secret(policy: object) -> str | None:
    """The secret of a verify-webhook/twilio action; "" when the action lacks one."""
    if isinstance(policy, str):
        yaml = importlib.import_module("yaml")
        policy = yaml.safe_load(policy)
    if not isinstance(policy, dict):
        return None
    for rule in policy.get("on_http_request") or []:
        for action in rule.get("actions") or []:
            if action.get("type") == "verify-webhook":
                config = action.get("config") or {}
                if config.get("provider") == "twilio":
                    return str(config.get("secret") or "")
    return None


def _api_handler(agent: Agent) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _reply(self, status: int, body: object | None) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            path = urllib.parse.urlsplit(self.path).path.rstrip("/")
            with agent.lock:
                endpoints = [_public(e) for e in agent.endpoints.values()]
            if path == "/api/endpoints":
                self._reply(200, {"endpoints": endpoints, "uri": "/api/endpoints"})
            elif path.startswith("/api/endpoints/"):
                name = path.rsplit("/", 1)[1]
                match = [e for e in endpoints if e["name"] == name]
                if match:
                    self._reply(200, match[0])
                else:
                    self._reply(404, _error(100, 404, "endpoint not found", name))
            elif path == "/api/tunnels":
                tunnels = [dict(e, public_url=e["url"], proto="https") for e in endpoints]
                self._reply(200, {"tunnels": tunnels, "uri": "/api/tunnels"})
            elif path == "/api/status":
                status = "online" if agent.session_up else "reconnecting"
                self._reply(200, {"status": status, "agent_version": VERSION, "uri": "/api/status"})
            elif path == "/api/requests/http":
                self._reply(200, {"requests": [], "uri": "/api/requests/http"})
            else:
                self._reply(404, _error(100, 404, "not found", path))

        def do_POST(self) -> None:
            path = urllib.parse.urlsplit(self.path).path.rstrip("/")
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                self._reply(400, _error(102, 400, "invalid JSON", "bad body"))
                return
            if path in ("/api/endpoints", "/api/tunnels"):
                status, reply = agent.create_endpoint(body)
                self._reply(status, reply)
            else:
                self._reply(404, _error(100, 404, "not found", path))

        def do_DELETE(self) -> None:
            path = urllib.parse.urlsplit(self.path).path.rstrip("/")
            name = path.rsplit("/", 1)[1]
            if path.startswith(("/api/endpoints/", "/api/tunnels/")) and agent.delete_endpoint(
                name
            ):
                self._reply(204, None)
            else:
                self._reply(404, _error(100, 404, "endpoint not found", name))

    return Handler


def _edge_handler(agent: Agent, name: str) -> type[BaseHTTPRequestHandler]:
    class Edge(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _plain(self, status: int, text: str) -> None:
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _relay(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with agent.lock:
                endpoint = dict(agent.endpoints.get(name) or {})
                online = agent.session_up
            if not endpoint or not online:
                self._plain(404, "The endpoint is offline.\r\n\r\nERR_NGROK_3200")
                return
            public = urllib.parse.urlsplit(endpoint["url"])
            if endpoint.get("verify_twilio"):
                secret = _twilio_secret(endpoint["traffic_policy"]) or ""
                fields: dict[str, str] = {}
                content_type = self.headers.get("Content-Type", "")
                if self.command == "POST" and content_type.startswith(
                    "application/x-www-form-urlencoded"
                ):
                    fields = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
                expected = twilio_signature(secret, endpoint["url"] + self.path, fields)
                given = self.headers.get("X-Twilio-Signature", "")
                if not hmac.compare_digest(expected, given):
                    self._plain(403, "Webhook verification failed.")
                    return
            host, port = _upstream_address(endpoint["upstream"]["url"])
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            headers["Host"] = public.netloc
            headers["X-Forwarded-For"] = self.client_address[0]
            headers["X-Forwarded-Proto"] = "https"
            headers["X-Forwarded-Host"] = public.netloc
            try:
                upstream = http.client.HTTPConnection(host, port, timeout=15)
                upstream.request(self.command, self.path, body=body or None, headers=headers)
                response = upstream.getresponse()
                payload = response.read()
                upstream.close()
            except OSError:
                log("warn", "failed to dial upstream", obj="tunnels", addr=f"{host}:{port}")
                self._plain(502, f"ngrok could not reach {host}:{port}.\r\n\r\nERR_NGROK_8012")
                return
            self.send_response(response.status, response.reason)
            for key, value in response.getheaders():
                if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _relay

    return Edge


def _parse(argv: list[str]) -> tuple[list[str], dict[str, str | None]]:
    words: list[str] = []
    options: dict[str, str | None] = {}
    items = iter(argv)
    for item in items:
        if item.startswith("--"):
            key, eq, value = item[2:].partition("=")
            if eq:
                options[key] = value
            elif key in ("none", "all", "version", "help"):
                options[key] = None
            else:
                options[key] = next(items, None)
        else:
            words.append(item)
    return words, options


def main(argv: list[str], home: str) -> int:
    words, options = _parse(argv)
    if "version" in options or words[:1] == ["version"]:
        print(f"ngrok version {VERSION}")
        return 0
    if words[:2] == ["config", "add-authtoken"]:
        print(f"Authtoken saved to configuration file: {options.get('config') or 'ngrok.yml'}")
        return 0
    if words[:2] == ["config", "check"]:
        print(f"Valid configuration file at {options.get('config') or 'ngrok.yml'}")
        return 0
    if words[:1] == ["update"]:
        print("No update available, this is the latest version.")
        return 0
    if words[:1] != ["start"]:
        sys.stderr.write(f"ERROR:  unknown command {' '.join(argv)}\n")
        return 2
    agent = Agent(Path(home), [sys.argv[0], *argv], options)
    signal.signal(signal.SIGTERM, agent.stop)
    signal.signal(signal.SIGINT, agent.stop)
    try:
        return agent.run()
    finally:
        agent.done.set()
