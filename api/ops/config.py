"""Configuration from environment variables (documented in README)."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("jifen.config")

DEV_SECRET = "jifen-dev-secret-do-not-use-in-production"
MIN_SECRET_LENGTH = 32


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret: str
    env: str = "dev"
    redis_url: str | None = None
    redis_prefix: str = "jifen"  # channel names start with it: several brands can share one Redis
    sweep_seconds: float = 60.0
    allowed_origins: frozenset[str] = frozenset()  # in prod, browser WebSockets only from these pages
    persisted_queries: Path | None = None  # an allow-list: only these documents run
    cost_budget_per_minute: int = 20_000  # query cost points per caller per sliding minute
    metrics_token: str | None = None  # /metrics asks for it as a bearer token; in prod, no token: no /metrics
    trusted_proxies: tuple = ()  # networks whose X-Forwarded-For is believed (api/http/client_address.py)
    sockets_per_address: int = 200  # open WebSockets one client address may hold
    anonymous_feeds_per_address: int = 20  # activityFeed subscriptions without a token, per address
    otel_endpoint: str | None = None  # an OTLP/HTTP collector: spans per request and per SQL statement

    @property
    def is_dev(self) -> bool:
        return self.env == "dev"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        environ = dict(os.environ if environ is None else environ)
        env = environ.get("JIFEN_ENV", "dev")
        if env not in ("dev", "prod"):
            raise ConfigError("JIFEN_ENV must be 'dev' or 'prod'")
        secret = environ.get("JIFEN_SECRET", "")
        if env == "prod" and len(secret) < MIN_SECRET_LENGTH:
            raise ConfigError(f"JIFEN_SECRET must be set to at least {MIN_SECRET_LENGTH} characters in prod")
        if not secret:
            log.warning("!!! JIFEN_SECRET is not set: using the public development secret. "
                        "Anyone can forge tokens. Never run like this in production. !!!")
            secret = DEV_SECRET
        default_db = f"sqlite:///{Path.cwd() / 'jifen.db'}"
        try:
            sweep = float(environ.get("JIFEN_SWEEP_SECONDS", "60"))
        except ValueError:
            raise ConfigError("JIFEN_SWEEP_SECONDS must be a number of seconds") from None
        return cls(database_url=environ.get("DATABASE_URL") or default_db, secret=secret, env=env,
                   redis_url=environ.get("REDIS_URL") or None, sweep_seconds=sweep,
                   redis_prefix=environ.get("JIFEN_REDIS_PREFIX") or "jifen",
                   cost_budget_per_minute=_positive_int(environ, "JIFEN_COST_BUDGET", 20_000),
                   metrics_token=_metrics_token(environ), trusted_proxies=_networks(environ),
                   sockets_per_address=_positive_int(environ, "JIFEN_SOCKETS_PER_ADDRESS", 200),
                   anonymous_feeds_per_address=_positive_int(environ, "JIFEN_ANONYMOUS_FEEDS_PER_ADDRESS", 20),
                   persisted_queries=Path(environ["JIFEN_PERSISTED_QUERIES"])
                   if environ.get("JIFEN_PERSISTED_QUERIES") else None,
                   otel_endpoint=environ.get("JIFEN_OTEL_ENDPOINT") or None,
                   allowed_origins=frozenset(o.strip() for o in environ.get("JIFEN_ALLOWED_ORIGINS", "").split(",")
                                             if o.strip()))


def _networks(environ: dict[str, str]) -> tuple:
    from api.http.client_address import parse_networks

    try:
        return parse_networks(environ.get("JIFEN_TRUSTED_PROXIES", ""))
    except ValueError as error:
        raise ConfigError(f"JIFEN_TRUSTED_PROXIES: {error}") from None


def _metrics_token(environ: dict[str, str]) -> str | None:
    token = environ.get("JIFEN_METRICS_TOKEN") or None
    if token is not None and len(token) < MIN_SECRET_LENGTH:
        raise ConfigError(f"JIFEN_METRICS_TOKEN must be at least {MIN_SECRET_LENGTH} characters")
    return token


def _positive_int(environ: dict[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{name} must be a positive whole number")
    return int(raw)
