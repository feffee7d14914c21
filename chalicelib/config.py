"""Settings from the environment: the same code reads the emulator locally and AWS in the cloud."""

from __future__ import annotations

import os
from dataclasses import dataclass

# Connections per AWS client. A Lambda uses one at a time; the local stack's drivers share a
# client across threads, and a pool smaller than their number discards connections (and warns).
POOL_CONNECTIONS = 32


@dataclass(frozen=True)
class Settings:
    table_prefix: str
    region: str
    endpoint_url: str | None
    max_body_bytes: int
    public_url: str
    pending_shards: int
    sweep_grace_seconds: int
    due_shards: int = 8
    tick_inline_limit: int = 200
    signing_secret: str = ""
    # The secret signed links were made with before a rotation: still verified, never used to
    # sign, so links in emails already sent keep working through the grace period.
    signing_secret_previous: str = ""
    # Keys the hashes that stand for a person (an erasure's mark, a privacy request's subject,
    # a limiter's client). Never rotated: a new pepper would forget every erasure.
    pepper: str = ""
    configuration_set: str | None = None
    max_send_rate: float = 14.0
    outbox_dir: str | None = None
    feedback_topics: tuple[str, ...] = ()
    allow_private_webhooks: bool = False
    webhook_max_delay_seconds: int = 900
    # Broadcast emails kept on the sends queue at most, so a journey's email is never stuck
    # behind a newsletter: about two minutes of sending at the account's SES rate.
    broadcast_backlog: int = 2000
    # Client addresses the public endpoints' limits do not apply to (a load balancer's health
    # check, or the developer's own machine on the local stack).
    limit_exempt: tuple[str, ...] = ()
    # The secret of the forms' CAPTCHA widget, and where to verify tokens (the provider's own
    # URL when unset; a test or a proxy may stand in).
    captcha_secret: str = ""
    # Contacts with no activity of their own for this many days are erased (0: kept).
    retain_inactive_days: int = 0
    captcha_verify_url: str | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        stage = env.get("LEADFLOW_STAGE", "dev")
        return cls(
            table_prefix=env.get("LEADFLOW_TABLE_PREFIX", f"leadflow-{stage}-"),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            max_body_bytes=int(env.get("LEADFLOW_MAX_BODY_BYTES", 64 * 1024)),
            public_url=env.get("LEADFLOW_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
            pending_shards=int(env.get("LEADFLOW_PENDING_SHARDS", 8)),
            sweep_grace_seconds=int(env.get("LEADFLOW_SWEEP_GRACE_SECONDS", 120)),
            due_shards=int(env.get("LEADFLOW_DUE_SHARDS", 8)),
            tick_inline_limit=int(env.get("LEADFLOW_TICK_INLINE_LIMIT", 200)),
            signing_secret=env.get("LEADFLOW_SIGNING_SECRET", ""),
            signing_secret_previous=env.get("LEADFLOW_SIGNING_SECRET_PREVIOUS", ""),
            # Unset, the signing secret stands in (as it did before the pepper was its own).
            pepper=env.get("LEADFLOW_PEPPER") or env.get("LEADFLOW_SIGNING_SECRET", ""),
            configuration_set=env.get("LEADFLOW_SES_CONFIGURATION_SET", f"leadflow-{stage}"),
            max_send_rate=float(env.get("LEADFLOW_MAX_SEND_RATE", 14)),
            outbox_dir=env.get("LEADFLOW_OUTBOX_DIR") or None,
            feedback_topics=tuple(
                t.strip()
                for t in env.get("LEADFLOW_SES_FEEDBACK_TOPICS", "").split(",")
                if t.strip()
            ),
            allow_private_webhooks=env.get("LEADFLOW_ALLOW_PRIVATE_WEBHOOKS", "") == "1",
            webhook_max_delay_seconds=int(env.get("LEADFLOW_WEBHOOK_MAX_DELAY_SECONDS", 900)),
            broadcast_backlog=int(env.get("LEADFLOW_BROADCAST_BACKLOG", 2000)),
            limit_exempt=tuple(
                a.strip() for a in env.get("LEADFLOW_LIMIT_EXEMPT", "").split(",") if a.strip()
            ),
            captcha_secret=env.get("LEADFLOW_CAPTCHA_SECRET", ""),
            retain_inactive_days=int(env.get("LEADFLOW_RETAIN_INACTIVE_DAYS") or 0),
            captcha_verify_url=env.get("LEADFLOW_CAPTCHA_VERIFY_URL") or None,
        )
