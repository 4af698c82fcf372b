"""All configuration of the api, read once from the environment (and an optional `.env` file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]

# Local-only defaults: fine on a laptop, refused in production.
DEV_CREDITOR_API_KEY = "demo-creditor-key"
DEV_ACTIONS_TOKEN = "dev-actions-token"
DEV_SECRET_KEY = "dev-secret-key-change-me"
DEV_TWILIO_ACCOUNT_SID = "AC00000000000000000000000000000000"
DEV_TWILIO_AUTH_TOKEN = "dev-twilio-auth-token"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    app_env: Literal["development", "test", "production"] = "development"
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # Public base URL of the api, used in links sent to debtors (documents).
    public_base_url: str = ""

    database_url: str = f"sqlite:///{REPO_ROOT / 'var' / 'debtor.db'}"

    rasa_url: str = "http://127.0.0.1:5005"
    # Several Rasa servers (comma-separated URLs; empty: `rasa_url` alone). Each conversation goes to one of
    # them, chosen by a stable hash of its id; a server that does not answer is skipped (api/services/rasa.py).
    rasa_urls: str = ""
    # Shared state of several api workers (socket.io's Redis manager, console events, rate limits, the
    # conversations' locks, which worker holds a web-chat session); empty: one api process, in memory.
    redis_url: str = ""
    # This worker's name, the prefix of its engine.io session ids: the load balancer sends every request of
    # a polling session to the worker that holds it (deploy/nginx.conf). Empty for one process.
    api_worker_name: str = Field("", pattern=r"^[a-z0-9]{0,8}$")
    rasa_timeout_seconds: float = 30.0
    # Rasa's HTTP API (trackers: a hand-back, an expired verification, an erasure) accepts only JWTs signed
    # with this private key (RS256); Rasa is given the public key (api/core/rasa_auth.py). The development
    # stack makes the pair on its first start; a deployment provides the file.
    rasa_jwt_private_key_file: Path = REPO_ROOT / "var" / "rasa-jwt-key.pem"

    creditor_api_key: str = DEV_CREDITOR_API_KEY
    actions_token: str = Field(DEV_ACTIONS_TOKEN, description="Shared secret of the action server")
    secret_key: str = DEV_SECRET_KEY

    # Origins allowed to open the web-chat socket (the creditor's site); empty = the api's own origin.
    webchat_allowed_origins: list[str] = []

    document_link_ttl_seconds: int = 7 * 24 * 3600
    default_language: Literal["fr", "en"] = "fr"
    max_message_chars: int = 2000
    # Failed verifications allowed in one conversation, then a person takes over.
    verification_max_attempts: int = 3
    # Failed verifications allowed on one reference across every conversation and channel, then nobody
    # verifies on it until an agent or the creditor unlocks it.
    verification_max_failures_per_reference: int = 5
    # Limits on load (api/core/limits.py): request bodies, and rates per sender, client, API key.
    max_request_body_bytes: int = Field(262_144, ge=1024)
    inbound_messages_per_sender_per_minute: int = Field(20, ge=1)
    console_sign_ins_per_client_per_15_minutes: int = Field(30, ge=1)
    creditor_requests_per_minute: int = Field(1200, ge=1)
    document_unlocks_per_client_per_15_minutes: int = Field(20, ge=1)
    # A verified debtor silent this long proves who they are again before any detail (a shared or recycled
    # phone, a computer left open); 0 keeps verification for the whole conversation.
    verification_idle_minutes: int = Field(60, ge=0)
    # New web-chat sessions one client (IP address) may open per hour; more are refused.
    webchat_sessions_per_client_per_hour: int = 30
    # The largest socket.io packet the web chat accepts (a message of MAX_MESSAGE_CHARS is far smaller);
    # a bigger one closes the socket before anything is read into memory.
    webchat_max_packet_bytes: int = 65_536

    # Who speaks for the creditor (shown in the disclosure and written confirmations).
    collector_name: str = "Recouvrement Amiable Démo"
    collector_address: str = "12 rue de la Paix, 75002 Paris, France"
    # How a debtor reaches the collector's people (said when asked for our contact details).
    collector_phone: str = "01 86 95 00 00"
    collector_email: str = "contact@recouvrement-demo.example"

    # Where debtors send requests about their personal data (access, rectification, erasure).
    privacy_contact: str = "dpo@recouvrement-demo.example"

    # Twilio (SMS and WhatsApp). The official library is pointed at TWILIO_API_BASE_URL: the local fake
    # (scripts/fake_twilio.py, started by `make run`) by default, https://api.twilio.com in production.
    twilio_account_sid: str = DEV_TWILIO_ACCOUNT_SID
    twilio_auth_token: str = DEV_TWILIO_AUTH_TOKEN
    twilio_api_base_url: str = "http://127.0.0.1:8010"
    # Our numbers: an inbound webhook addressed to another number is refused.
    twilio_sms_number: str = "+33700000001"
    twilio_whatsapp_number: str = "+33700000002"
    # Signatures are checked against PUBLIC_BASE_URL + path (the URL registered in Twilio's console), so
    # the check holds behind a proxy. Turning it off is a development-only setting.
    twilio_validate_signatures: bool = True
    twilio_max_request_bytes: int = 32_768
    # WhatsApp: free text only within this many hours after the debtor's last message; outside it,
    # only approved templates (name -> Twilio Content SID).
    whatsapp_session_hours: int = 24
    whatsapp_templates: dict[str, str] = {"reopen_conversation": "HX00000000000000000000000000000001"}
    # Outbox: attempts before a message is marked failed, first retry delay (doubles each time).
    outbox_max_attempts: int = 6
    outbox_retry_seconds: float = 2.0
    # Inbound messages left unanswered (Rasa down, api restarted) are retried at this interval.
    inbound_retry_seconds: float = 5.0
    # Turns this api worker has Rasa answer at once; the others wait in the api, where no timeout runs. More
    # only queues inside Rasa (CPU-bound: two cores answer ~11 turns a second), where a turn that waits past
    # RASA_TIMEOUT_SECONDS is held and sent again, and the action server's calls back to the api slow down.
    rasa_turns_at_once: int = Field(default=8, ge=1)
    # Follow-through: how often the api's scheduler looks for due contacts and missed instalments; off when
    # another process runs it (`python -m api.cli contacts-tick` from cron, or a dedicated worker).
    scheduler_enabled: bool = True
    scheduler_poll_seconds: float = 30.0

    # Agent console: how long a sign-in lasts, and how many wrong passwords (per agent, per 15 minutes)
    # before sign-in is refused for a while.
    console_session_hours: int = 12
    console_max_failed_sign_ins: int = 5
    # The demo agent created by `seed-demo` (local development only; production creates agents with the CLI).
    demo_agent_email: str = "agent@demo.example"
    demo_agent_password: str = "demo-agent-password"

    webchat_dir: Path = REPO_ROOT / "web" / "node_modules" / "rasa-webchat" / "lib"
    # Chart.js for the console's dashboard (web/package.json): its one UMD file, served from our own origin.
    chartjs_file: Path = REPO_ROOT / "web" / "node_modules" / "chart.js" / "dist" / "chart.umd.min.js"
    font_dir: Path = Path("/usr/share/fonts/truetype/dejavu")
    # The bot's domain: an A/B test of a response must name one of its responses (api/services/experiments.py).
    domain_file: Path = REPO_ROOT / "domain.yml"

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def rasa_servers(self) -> list[str]:
        """The Rasa servers this api relays to, in a fixed order."""
        listed = [url.strip().rstrip("/") for url in self.rasa_urls.split(",") if url.strip()]
        return listed or [self.rasa_url.rstrip("/")]

    @property
    def base_url(self) -> str:
        return self.public_base_url.rstrip("/") or f"http://{self.api_host}:{self.api_port}"

    @model_validator(mode="after")
    def _refuse_dev_secrets_in_production(self) -> Settings:
        if self.app_env == "production":
            dev_values = {
                "CREDITOR_API_KEY": (self.creditor_api_key, DEV_CREDITOR_API_KEY),
                "ACTIONS_TOKEN": (self.actions_token, DEV_ACTIONS_TOKEN),
                "SECRET_KEY": (self.secret_key, DEV_SECRET_KEY),
                "TWILIO_AUTH_TOKEN": (self.twilio_auth_token, DEV_TWILIO_AUTH_TOKEN),
            }
            unsafe = [name for name, (value, default) in dev_values.items() if value == default]
            if unsafe:
                raise ValueError(
                    "APP_ENV=production refuses the local default of "
                    + ", ".join(unsafe)
                    + ": set a secret value for each in the environment."
                )
        if not self.twilio_validate_signatures and self.app_env != "development":
            raise ValueError("TWILIO_VALIDATE_SIGNATURES=false is only allowed with APP_ENV=development.")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()  # type: ignore[call-arg]  # every field has a default or comes from the environment
