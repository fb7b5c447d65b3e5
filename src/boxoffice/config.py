"""One Settings object for the whole service, read from the environment (prefix BOXOFFICE_) and `.env`."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, PrivateAttr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_PLACEHOLDERS = {"changeme", "change-me", "secret", "please-change-me", "dev", "development", "test"}
MIN_SECRET_LENGTH = 32


class ConfigError(RuntimeError):
    """The configuration cannot run the service; the message says what to set."""


class Settings(BaseSettings):
    """Every knob of boxoffice; see README "Configuration"."""

    model_config = SettingsConfigDict(env_prefix="BOXOFFICE_", env_file=".env", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    var_dir: Path = Path("var")
    database_url: str = ""
    secret_key: str = ""
    # Unset, `boxoffice serve --port N` makes it http://127.0.0.1:N (cli.py).
    base_url: str = "http://127.0.0.1:8000"
    log_level: str = "INFO"

    smtp_url: str = ""
    email_from: str = "boxoffice <no-reply@boxoffice.localhost>"

    redis_url: str = ""

    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    refresh_token_days: int = Field(default=30, ge=1, le=365)
    jwt_issuer: str = "boxoffice"
    jwt_audience: str = "boxoffice-api"
    verification_token_hours: int = Field(default=48, ge=1)
    reset_token_minutes: int = Field(default=60, ge=5)
    require_mfa_for_admins: bool = False

    login_attempts_per_15min: int = Field(default=5, ge=1)
    ip_requests_per_hour: int = Field(default=20, ge=1)

    hold_minutes: int = Field(default=10, ge=1, le=120)
    payment_grace_minutes: int = Field(default=2, ge=0, le=30)
    max_seats_per_booking: int = Field(default=10, ge=1, le=100)
    max_held_bookings: int = Field(default=3, ge=1, le=50)
    sales_close_minutes: int = Field(default=0, ge=0)
    cleaning_minutes: int = Field(default=15, ge=0, le=240)
    sweep_interval_seconds: float = Field(default=30.0, gt=0)
    # Refund steps for customers' cancellations: "24h:100,2h:75,30m:50" = 100% at least 24 h before the start,
    # 75% from 2 h, 50% from 30 min, no cancellation in the last 30 minutes (see booking/policy.py).
    cancellation_policy: str = Field(
        default="24h:100,2h:75,30m:50",
        pattern=r"^\s*\d+\s*[dhm]\s*:\s*\d{1,3}\s*(,\s*\d+\s*[dhm]\s*:\s*\d{1,3}\s*)*$",
    )

    payment_provider: Literal["simulated", "stripe"] = "simulated"
    stripe_secret_key: str = ""
    stripe_webhook_secret: str = ""
    stripe_api_base: str = ""
    # A payment attempt still `pending` this long after it was written is asked about at the provider
    # (the reconciliation sweep: a crash between the charge and its commit ends confirmed or refunded).
    payment_reconcile_seconds: float = Field(default=60.0, ge=0)
    # A refund job taken by a worker is its own for this long (longer than a provider call with its
    # retries); a worker killed mid-send leaves the job to be taken again after it.
    refund_lease_seconds: float = Field(default=120.0, gt=0)
    # The simulated provider's ledger (charges, refunds, idempotency keys, armed faults, events): a SQLite
    # file shared by the workers of one machine; empty means `<var_dir>/simulated-provider.sqlite3`.
    simulated_ledger: str = ""

    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # Request headers: the most bytes (names and values together) and the most header lines a request may
    # carry; over either it is answered 431 (middleware.py). nginx's large_client_header_buffers is the
    # first guard in front of it (docs/deploy.md).
    max_header_bytes: int = Field(default=32_768, ge=1024)
    max_headers: int = Field(default=100, ge=10)

    # Comma-separated addresses (or networks, or `*`) of the proxies whose X-Forwarded-For/-Proto are
    # believed; empty: nobody's, the peer address is the client (uvicorn's --forwarded-allow-ips).
    forwarded_allow_ips: str = ""
    # Comma-separated host names served (`*.example.com` for subdomains, `*` for any); empty: the host of
    # BASE_URL, plus localhost, 127.0.0.1 and testserver outside production. Other Hosts answer 400.
    allowed_hosts: str = ""
    # Bearer token for GET /metrics; unset: /metrics is open in development and test, not served in
    # production.
    metrics_token: str = ""
    db_pool_size: int = Field(default=10, ge=1)
    # Longest life of a cached anonymous seat map; seat events drop it sooner (0 turns the cache off).
    seat_map_cache_seconds: float = Field(default=1.0, ge=0, le=60)

    _base_url_given: bool = PrivateAttr(default=False)

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        self._base_url_given = "base_url" in self.model_fields_set and bool(self.base_url.strip())
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.var_dir / 'boxoffice.db'}"
        if not self.base_url.strip():  # `BOXOFFICE_BASE_URL=` in a .env file: the default
            self.base_url = "http://127.0.0.1:8000"
        return self

    @property
    def base_url_given(self) -> bool:
        """True when BASE_URL was set (environment, `.env` or argument), not left to its default."""
        return self._base_url_given

    @property
    def is_production(self) -> bool:
        """True when running for real users."""
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        """True for the embedded SQLite default."""
        return self.database_url.startswith("sqlite")

    @property
    def allowed_host_list(self) -> list[str]:
        """The Host names the app answers (see `allowed_hosts`)."""
        explicit = [h.strip().lower() for h in self.allowed_hosts.split(",") if h.strip()]
        if explicit:
            return explicit
        hosts = [(urlsplit(self.base_url).hostname or "").lower()]
        if not self.is_production:
            hosts += ["localhost", "127.0.0.1", "testserver"]
        return [h for h in dict.fromkeys(hosts) if h]

    @property
    def simulated_ledger_path(self) -> Path:
        """Where the simulated payment provider keeps its ledger."""
        return (
            Path(self.simulated_ledger)
            if self.simulated_ledger
            else self.var_dir / "simulated-provider.sqlite3"
        )

    @property
    def outbox_dir(self) -> Path:
        """Where emails are written as .eml files when no SMTP server is configured."""
        return self.var_dir / "outbox"

    def resolve_secret_key(self) -> str:
        """The signing key: explicit in production, generated once and kept under var/ otherwise."""
        key = self.secret_key.strip()
        if key:
            if self.is_production and (len(key) < MIN_SECRET_LENGTH or key.lower() in _PLACEHOLDERS):
                raise ConfigError(
                    f"BOXOFFICE_SECRET_KEY is too weak for production: use at least {MIN_SECRET_LENGTH} "
                    "random characters, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
                )
            return key
        if self.is_production:
            raise ConfigError(
                "BOXOFFICE_SECRET_KEY must be set when BOXOFFICE_ENV=production "
                "(generate one with `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)."
            )
        path = self.var_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key + "\n")
        path.chmod(0o600)
        return key


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
