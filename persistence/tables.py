"""The relational schema. Migrations in ``persistence/migrations`` create it; this mirrors it for queries."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (JSON, false, BigInteger, Boolean, Column, Date, DateTime, ForeignKey, Index, Integer, MetaData,
                        String, Table, Text, TypeDecorator, UniqueConstraint)

metadata = MetaData()

# SQLite only autoincrements an INTEGER PRIMARY KEY, PostgreSQL wants BIGINT for a ledger.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator):
    """Aware UTC datetimes in and out, whatever the database keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def bind_processor(self, dialect):
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        # The text SQLAlchemy's SQLite DATETIME writes ("2026-11-27 09:31:51.123456", always with the
        # microseconds, so texts compare as times), made by one C call instead of a format string. A
        # change of points writes its moment in four or five columns: the last one's text is kept (a
        # datetime never changes; the pair is replaced whole, so threads never mix two).
        last: tuple[datetime | None, str | None] = (None, None)

        def process(value: datetime | None) -> str | None:
            nonlocal last
            if value is None:
                return None
            seen, text = last
            if value is seen:
                return text
            if value.tzinfo is None:
                raise ValueError("naive datetime given to the database")
            text = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
            last = (value, text)
            return text
        return process

    def result_processor(self, dialect, coltype):
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        # SQLite keeps the text SQLAlchemy wrote ("2026-11-27 09:31:51.123456"), in UTC; the C parser
        # reads it, offset appended, several times faster than SQLAlchemy's pattern and a replace().
        parse = datetime.fromisoformat

        def process(value: str | None) -> datetime | None:
            if value is None:
                return None
            try:
                return parse(value + "+00:00")
            except ValueError:  # text written by something else, with its own offset
                return self.process_result_value(parse(value), dialect)
        return process


members = Table(
    "members", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("external_id", String(64), nullable=False, unique=True),
    Column("nickname", String(40), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("tier_level", Integer, nullable=False),
    Column("growth", BigInteger, nullable=False, default=0),
    Column("balance", BigInteger, nullable=False, default=0),
    Column("held", BigInteger, nullable=False, default=0),
    Column("pending", BigInteger, nullable=False, default=0),
    Column("lifetime_earned", BigInteger, nullable=False, default=0),
    Column("debt", BigInteger, nullable=False, default=0),
    Column("next_due_at", UtcDateTime, nullable=True),
    Column("period_growth", BigInteger, nullable=False, default=0),
    Column("keep_until", UtcDateTime, nullable=True),
    # What the brand's server says about the member's device and phone (a hash): one reward per device.
    Column("device_id", String(64), nullable=True),
    Column("phone_hash", String(128), nullable=True),
    Column("last_active_at", UtcDateTime, nullable=True),  # kept so segments read no member's history
    Index("ix_members_next_due_at", "next_due_at"),
    Index("ix_members_device_id", "device_id"),
    Index("ix_members_phone_hash", "phone_hash"),
    Index("ix_members_tier_level", "tier_level", "id"),  # a tier's members, for its monthly perks
)

ledger_entries = Table(
    "ledger_entries", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("delta", BigInteger, nullable=False),
    Column("balance_after", BigInteger, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("memo", String(500), nullable=True),
    Column("actor", String(160), nullable=False),
    Column("ref", String(160), nullable=True),
    # On PostgreSQL the transaction that wrote it (pg_current_xact_id(), by default): the change feed
    # orders by it and shows no entry of a transaction still running (domain/feed.py). An index of
    # (xact_id, id) exists there only; SQLite leaves it 0 and feeds in id order.
    Column("xact_id", BigInteger, nullable=False, server_default="0"),
    # A member's history in order, holding what a reconciliation sums (migration 0031): its check
    # reads the index alone instead of visiting entries spread over the whole ledger.
    Index("ix_ledger_entries_member_history", "member_id", "id", "delta", "balance_after", "reason"),
    Index("ix_ledger_entries_ref", "ref"),  # what an order, hold or exchange wrote, for settlement and audits
    Index("ix_ledger_entries_occurred_at", "occurred_at"),  # analytics read the brand's days
)

point_lots = Table(
    "point_lots", metadata,
    Column("member_id", Id, ForeignKey("members.id"), primary_key=True),
    Column("expires_at", UtcDateTime, primary_key=True),
    Column("remaining", BigInteger, nullable=False),
    Index("ix_point_lots_expires_at", "expires_at", "member_id"),
)

holds = Table(
    "holds", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("ref", String(160), nullable=True),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime, nullable=True),
    Index("ix_holds_status_expires_at", "status", "expires_at"),
    Index("ix_holds_member_id", "member_id"),
)

check_ins = Table(
    "check_ins", metadata,
    Column("member_id", Id, ForeignKey("members.id"), primary_key=True),
    Column("local_date", Date, primary_key=True),
    Column("streak", Integer, nullable=False),
    Column("checked_in_at", UtcDateTime, nullable=False),
    Column("total_days", Integer, nullable=False, server_default="0"),  # all told, this day included
    Column("month_days", Integer, nullable=False, server_default="0"),  # in this day's month, this day included
)

tier_changes = Table(
    "tier_changes", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("from_level", Integer, nullable=False),
    Column("to_level", Integer, nullable=False),
    Column("growth", BigInteger, nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
    Index("ix_tier_changes_member_id", "member_id", "id"),
)

growth_changes = Table(
    "growth_changes", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("delta", BigInteger, nullable=False),
    Column("growth_after", BigInteger, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("actor", String(160), nullable=False),
    Column("memo", String(500), nullable=True),
    Column("ref", String(160), nullable=True),
    Index("ix_growth_changes_member_id", "member_id", "id"),
)

purchase_orders = Table(
    "purchase_orders", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("order_id", String(64), nullable=False, unique=True),
    Column("channel", String(16), nullable=False),
    Column("store_id", String(64), nullable=True),
    Column("amount_fen", BigInteger, nullable=False),
    Column("refunded_fen", BigInteger, nullable=False),
    Column("base_points", BigInteger, nullable=False),
    Column("bonus_points", BigInteger, nullable=False),
    # Of bonus_points, what a threshold campaign (the last of campaign_code) paid when it was placed.
    Column("threshold_points", BigInteger, nullable=False, server_default="0"),
    Column("campaign_code", String(100), nullable=True),
    Column("status", String(16), nullable=False),
    Column("placed_at", UtcDateTime, nullable=False),
    Column("release_at", UtcDateTime, nullable=False),
    Column("released_at", UtcDateTime, nullable=True),
    Column("credited_points", BigInteger, nullable=False),
    Column("reversed_points", BigInteger, nullable=False),
    Column("recorded_by", String(160), nullable=False),
    Index("ix_purchase_orders_status_release_at", "status", "release_at"),
    Index("ix_purchase_orders_member_id", "member_id", "id"),
    Index("ix_purchase_orders_placed_at", "placed_at"),
    Index("ix_purchase_orders_campaign_placed", "campaign_code", "placed_at", "member_id"),
    Index("ix_purchase_orders_store_placed", "store_id", "placed_at"),
)

campaigns = Table(
    "campaigns", metadata,
    Column("code", String(40), primary_key=True),
    Column("name", String(60), nullable=False),
    Column("multiplier_permille", Integer, nullable=False),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("ends_at", UtcDateTime, nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("tier_levels", JSON, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("min_order_fen", BigInteger, nullable=False, default=0),
    Column("bonus_points", Integer, nullable=False, default=0),
    Column("segments", JSON, nullable=False, default=list),
    Column("schedule", JSON, nullable=True),
    Column("tags", JSON, nullable=False, server_default="[]"),  # members holding any of these qualify  # a member day's recurrence (domain/campaigns.py Schedule)
    Index("ix_campaigns_ends_at", "ends_at"),
)

tasks = Table(
    "tasks", metadata,
    Column("code", String(40), primary_key=True),
    Column("name", String(60), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("points", Integer, nullable=False),
    Column("period", String(8), nullable=False),
    Column("cap", Integer, nullable=False),
    Column("description", String(500), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("position", Integer, nullable=False),
    Column("steps", JSON, nullable=False, default=list),
    Column("target", Integer, nullable=False, default=0),
    Column("confirmed_by", String(8), nullable=False, default="MEMBER"),
)

# A completion ticket's nonce, kept while the ticket could still be valid: each ticket pays once.
task_ticket_nonces = Table(
    "task_ticket_nonces", metadata,
    Column("key_id", String(40), primary_key=True),
    Column("nonce", String(64), primary_key=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("used_at", UtcDateTime, nullable=False),
    Index("ix_task_ticket_nonces_used_at", "used_at"),
)

task_completions = Table(
    "task_completions", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("task_code", String(40), nullable=False),
    Column("period_key", String(16), nullable=False),
    Column("completed_at", UtcDateTime, nullable=False),
    Index("ix_task_completions_member_task_period", "member_id", "task_code", "period_key"),
    Index("ix_task_completions_completed_at", "completed_at"),
    Index("ix_task_completions_task_completed", "task_code", "completed_at", "member_id"),
)

invitations = Table(
    "invitations", metadata,
    Column("invitee_id", Id, ForeignKey("members.id"), primary_key=True),
    Column("inviter_id", Id, ForeignKey("members.id"), nullable=False),
    Column("accepted_at", UtcDateTime, nullable=False),
    Column("inviter_points", Integer, nullable=False),
    Column("invitee_points", Integer, nullable=False),
    Column("inviter_reward", String(16), nullable=False, default="PAID"),
    Column("invitee_paid", Boolean, nullable=False, default=True),
    Column("note", String(200), nullable=True),
    Column("first_order_paid", Boolean, nullable=False, default=False),
    Column("resolved_at", UtcDateTime, nullable=True),
    Index("ix_invitations_inviter_id", "inviter_id", "accepted_at"),
    Index("ix_invitations_inviter_reward", "inviter_reward", "invitee_id"),
)

# Rewards held back for staff: who, why, and what staff decided (the audit log keeps who decided).
risk_reviews = Table(
    "risk_reviews", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("subject_id", Id, nullable=False),
    Column("reason", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("resolved_by", String(160), nullable=True),
    Index("ix_risk_reviews_status", "status", "id"),
)

# Monthly perks granted (domain/perks.py): one row per member, perk and brand month, so a grant is made once.
perk_grants = Table(
    "perk_grants", metadata,
    Column("member_id", Id, ForeignKey("members.id"), primary_key=True),
    Column("perk_key", String(40), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("granted_at", UtcDateTime, nullable=False),
)

# Free lottery draws a member earned (domain/chances.py): one row a chance, used once, first-expiring first.
lottery_chances = Table(
    "lottery_chances", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("source", String(16), nullable=False),
    Column("ref", String(80), nullable=False),
    Column("granted_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
    Column("draw_id", Id, nullable=True),
    Index("ix_lottery_chances_member_expires", "member_id", "expires_at"),
    Index("ix_lottery_chances_member_granted", "member_id", "source", "granted_at"),
)

poster_shares = Table(
    "poster_shares", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("shared_at", UtcDateTime, nullable=False),
    Column("chances", Integer, nullable=False),
    Index("ix_poster_shares_member", "member_id", "shared_at"),
)

# Member tags (domain/tags.py): staff-defined, set by hand, by import or by a rule the sweep works out.
tags = Table(
    "tags", metadata,
    Column("code", String(40), primary_key=True),
    Column("name", String(40), nullable=False),
    Column("rule", JSON, nullable=True),
)

member_tags = Table(
    "member_tags", metadata,
    Column("member_id", Id, ForeignKey("members.id"), primary_key=True),
    Column("tag_code", String(40), primary_key=True),
    Column("source", String(8), nullable=False),
    Column("tagged_at", UtcDateTime, nullable=False),
    Index("ix_member_tags_tag", "tag_code", "member_id"),
)

# What the brand keeps of a member beyond the account: gender, city, preferred store, its own fields.
member_profiles = Table(
    "member_profiles", metadata,
    Column("member_id", Id, ForeignKey("members.id"), primary_key=True),
    Column("gender", String(12), nullable=False),
    Column("city", String(40), nullable=True),
    Column("preferred_store_id", String(64), nullable=True),
    Column("attributes", JSON, nullable=False),
    Column("updated_at", UtcDateTime, nullable=True),
)

# Idle points turned into a benefit (domain/conversions.py): one per member a brand month.
conversions = Table(
    "conversions", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("period", String(7), nullable=False),
    Column("reason", String(16), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("item_id", Id, nullable=True),
    Column("tier_days", Integer, nullable=False),
    Column("redemption_id", Id, nullable=True),
    Column("automatic", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("member_id", "period", name="uq_conversions_member_period"),
)

# Points one member gave another (domain/gifts.py); both ledgers' entries carry ref "gift:<id>".
points_gifts = Table(
    "points_gifts", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("giver_id", Id, ForeignKey("members.id"), nullable=False),
    Column("recipient_id", Id, ForeignKey("members.id"), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("message", String(60), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_points_gifts_giver", "giver_id", "created_at"),
    Index("ix_points_gifts_recipient", "recipient_id", "created_at"),
)

submissions = Table(
    "submissions", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("content", String(2000), nullable=False),
    Column("image_urls", JSON, nullable=False),
    Column("ref", String(64), nullable=True),
    Column("status", String(16), nullable=False),
    Column("submitted_at", UtcDateTime, nullable=False),
    Column("reviewed_at", UtcDateTime, nullable=True),
    Column("reviewed_by", String(160), nullable=True),
    Column("reject_reason", String(200), nullable=True),
    Column("points", Integer, nullable=False),
    Index("ix_submissions_status_id", "status", "id"),
    Index("ix_submissions_member_id", "member_id", "id"),
)

notifications = Table(
    "notifications", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("title", String(100), nullable=False),
    Column("body", String(500), nullable=False),
    Column("ref", String(160), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("read_at", UtcDateTime, nullable=True),
    UniqueConstraint("member_id", "ref", name="uq_notifications_member_ref"),
    Index("ix_notifications_member_id", "member_id", "id"),
)

event_rules = Table(
    "event_rules", metadata,
    Column("event_type", String(40), primary_key=True),
    Column("name", String(60), nullable=False),
    Column("points", Integer, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("beneficiary", String(16), nullable=False),
    Column("daily_cap", Integer, nullable=True),
    Column("revokes", String(40), nullable=True),
    Column("revoke_within_days", Integer, nullable=False),
    Column("match_attribute", String(40), nullable=True),
    Column("enabled", Boolean, nullable=False),
)

brand_events = Table(
    "brand_events", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_type", String(40), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("beneficiary_id", Id, ForeignKey("members.id"), nullable=False),
    Column("points", Integer, nullable=False),
    Column("match_value", String(200), nullable=True),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    UniqueConstraint("event_type", "event_id", name="uq_brand_events_type_id"),
    Index("ix_brand_events_member", "event_type", "member_id", "id"),
    Index("ix_brand_events_beneficiary", "event_type", "beneficiary_id", "occurred_at"),
)

assist_campaigns = Table(
    "assist_campaigns", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("owner_id", Id, ForeignKey("members.id"), nullable=False),
    Column("title", String(40), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("ends_at", UtcDateTime, nullable=False),
    Column("helpers", Integer, nullable=False),
    Column("points_paid", Integer, nullable=False),
    Column("thresholds", JSON, nullable=False, default=list),
    Index("ix_assist_campaigns_owner_id", "owner_id", "id"),
)

assist_helpers = Table(
    "assist_helpers", metadata,
    Column("campaign_id", Id, ForeignKey("assist_campaigns.id"), primary_key=True),
    Column("helper_id", Id, ForeignKey("members.id"), primary_key=True),
    Column("assisted_at", UtcDateTime, nullable=False),
)

member_birthdays = Table(
    "member_birthdays", metadata,
    Column("member_id", Id, ForeignKey("members.id"), primary_key=True),
    Column("birthday", Date, nullable=False),
)

birthday_claims = Table(
    "birthday_claims", metadata,
    Column("member_id", Id, ForeignKey("members.id"), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("claimed_at", UtcDateTime, nullable=False),
)

mall_items = Table(
    "mall_items", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(60), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("points_price", BigInteger, nullable=False),
    Column("cash_price_fen", BigInteger, nullable=False),
    Column("stock", BigInteger, nullable=False),
    Column("per_member_limit", Integer, nullable=False),
    Column("min_tier_level", Integer, nullable=False),
    Column("on_shelf", Boolean, nullable=False),
    Column("category", String(30), nullable=False),
    Column("description", String(1000), nullable=False),
    Column("image_url", String(500), nullable=True),
    Column("position", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("group_size", Integer, nullable=False, default=0),
    Column("group_points_price", BigInteger, nullable=False, default=0),
    Column("group_hours", Integer, nullable=False, default=24),
    Column("coupon_value_fen", BigInteger, nullable=False, server_default="0"),
    Column("coupon_min_spend_fen", BigInteger, nullable=False, server_default="0"),
    Column("coupon_valid_days", Integer, nullable=False, server_default="30"),
    Column("coupon_store_ids", Text, nullable=False, server_default=""),  # comma-separated; empty: every store
    Column("member_day", String(40), nullable=True),  # the scheduled campaign whose days alone it is redeemed on
    Column("tags", Text, nullable=False, server_default=""),  # comma-separated; members holding any may redeem
    Index("ix_mall_items_category", "category", "position"),
)

redemptions = Table(
    "redemptions", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("item_id", Id, ForeignKey("mall_items.id"), nullable=False),
    Column("item_name", String(60), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("code", String(40), nullable=True),
    Column("note", String(200), nullable=True),
    Column("updated_at", UtcDateTime, nullable=True),
    Column("flash_sale_id", Id, nullable=True),
    Index("ix_redemptions_member_item", "member_id", "item_id"),
    Index("ix_redemptions_created_at", "created_at"),
    Index("ix_redemptions_item_created", "item_id", "created_at", "member_id", "status"),
)

flash_sales = Table(
    "flash_sales", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("item_id", Id, ForeignKey("mall_items.id"), nullable=False),
    Column("title", String(60), nullable=False),
    Column("points_price", BigInteger, nullable=False),
    Column("stock", BigInteger, nullable=False),
    Column("per_member_limit", Integer, nullable=False),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("ends_at", UtcDateTime, nullable=False),
    Index("ix_flash_sales_ends_at", "ends_at"),
)

coupon_codes = Table(
    "coupon_codes", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("item_id", Id, ForeignKey("mall_items.id"), nullable=False),
    Column("code", String(40), nullable=False),
    Column("taken", Boolean, nullable=False),
    UniqueConstraint("item_id", "code", name="uq_coupon_codes_item_code"),
    Index("ix_coupon_codes_item_taken", "item_id", "taken", "id"),
)

# The coupon wallet (domain/coupons.py): a coupon a unit of a coupon item's redemption.
coupons = Table(
    "coupons", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("redemption_id", Id, ForeignKey("redemptions.id"), nullable=False),
    Column("item_id", Id, ForeignKey("mall_items.id"), nullable=False),
    Column("name", String(60), nullable=False),
    Column("code", String(40), nullable=False),
    Column("value_fen", BigInteger, nullable=False),
    Column("min_spend_fen", BigInteger, nullable=False),
    Column("valid_from", UtcDateTime, nullable=False),
    Column("valid_until", UtcDateTime, nullable=True),  # null: never expires
    Column("source", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
    Column("reminded_at", UtcDateTime, nullable=True),
    Column("store_ids", Text, nullable=False, server_default=""),  # comma-separated; empty: every store
    Column("used_store_id", String(64), nullable=True),  # the store whose till redeemed it
    Index("ix_coupons_member_id", "member_id", "id"),
    Index("ix_coupons_redemption_id", "redemption_id"),
    Index("ix_coupons_code", "code"),
    Index("ix_coupons_status_valid_until", "status", "valid_until"),
    Index("ix_coupons_store_used", "used_store_id", "used_at"),
)

checkout_orders = Table(
    "checkout_orders", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("item_id", Id, ForeignKey("mall_items.id"), nullable=False),
    Column("item_name", String(60), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("points_held", BigInteger, nullable=False),
    Column("cash_due_fen", BigInteger, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("payment_ref", String(64), nullable=True),
    Column("resolved_at", UtcDateTime, nullable=True),
    Index("ix_checkout_orders_member_id", "member_id", "id"),
)

deductions = Table(
    "deductions", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("order_id", String(64), nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("fen", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("store_id", String(64), nullable=True),  # taken at this store's till
    UniqueConstraint("member_id", "order_id", "purpose", name="uq_deductions_member_order_purpose"),
    Index("ix_deductions_store_created", "store_id", "created_at"),
)

idempotency_keys = Table(
    "idempotency_keys", metadata,
    Column("scope", String(200), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("result", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_idempotency_keys_created_at", "created_at"),
)

settings = Table(
    "settings", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", JSON, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(160), nullable=False),
)

audit_log = Table(
    "audit_log", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("actor", String(160), nullable=False),
    Column("action", String(80), nullable=False),
    Column("target", String(160), nullable=False),
    Column("details", JSON, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_audit_log_at", "at"),
)

lotteries = Table(
    "lotteries", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(40), nullable=False),
    Column("entry_cost", BigInteger, nullable=False),
    Column("daily_limit", Integer, nullable=False),
    Column("pity_after", Integer, nullable=False),
    Column("starts_at", UtcDateTime, nullable=True),
    Column("ends_at", UtcDateTime, nullable=True),
    Column("enabled", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    Column("draws", BigInteger, nullable=False),
    Column("payment", String(8), nullable=False, server_default="POINTS"),  # POINTS, CHANCES or EITHER
    Column("min_tier_level", Integer, nullable=False, server_default="1"),
    Column("tags", Text, nullable=False, server_default=""),  # comma-separated; members holding any may draw
)

lottery_prizes = Table(
    "lottery_prizes", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("lottery_id", Id, ForeignKey("lotteries.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    Column("name", String(40), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("weight", Integer, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("item_id", Id, ForeignKey("mall_items.id"), nullable=True),
    Column("stock", BigInteger, nullable=True),
    Column("fallback", Boolean, nullable=False),
    Index("ix_lottery_prizes_lottery_version", "lottery_id", "version", "position"),
)

lottery_seeds = Table(
    "lottery_seeds", metadata,
    Column("lottery_id", Id, ForeignKey("lotteries.id"), primary_key=True),
    Column("epoch", Integer, primary_key=True),
    Column("seed", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revealed_at", UtcDateTime, nullable=True),
)

lottery_draws = Table(
    "lottery_draws", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("lottery_id", Id, ForeignKey("lotteries.id"), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("epoch", Integer, nullable=False),
    Column("sequence", BigInteger, nullable=False),
    Column("client_seed", String(128), nullable=False),
    Column("roll", BigInteger, nullable=False),
    Column("candidates", String(400), nullable=False),
    Column("drawn_prize_id", Id, nullable=True),
    Column("prize_id", Id, ForeignKey("lottery_prizes.id"), nullable=False),
    Column("pity_applied", Boolean, nullable=False),
    Column("misses_after", Integer, nullable=False),
    Column("entry_cost", BigInteger, nullable=False),
    Column("drawn_at", UtcDateTime, nullable=False),
    Column("redemption_id", Id, nullable=True),
    Column("paid_with_chance", Boolean, nullable=False, server_default=false()),
    UniqueConstraint("lottery_id", "sequence", name="uq_lottery_draws_sequence"),
    Index("ix_lottery_draws_member", "member_id", "lottery_id", "id"),
)

group_redemptions = Table(
    "group_redemptions", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("item_id", Id, ForeignKey("mall_items.id"), nullable=False),
    Column("item_name", String(60), nullable=False),
    Column("owner_id", Id, ForeignKey("members.id"), nullable=False),
    Column("size", Integer, nullable=False),
    Column("points_price", BigInteger, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("deadline", UtcDateTime, nullable=False),
    Column("filled", Boolean, nullable=False),
    Column("filled_at", UtcDateTime, nullable=True),
    Index("ix_group_redemptions_item_deadline", "item_id", "deadline"),
)

group_members = Table(
    "group_members", metadata,
    Column("group_id", Id, ForeignKey("group_redemptions.id"), primary_key=True),
    Column("member_id", Id, ForeignKey("members.id"), primary_key=True),
    Column("joined_at", UtcDateTime, nullable=False),
)

leaderboard_scores = Table(
    "leaderboard_scores", metadata,
    Column("period", String(8), primary_key=True),
    Column("starts_on", Date, primary_key=True),
    Column("member_id", Id, ForeignKey("members.id"), primary_key=True),
    Column("points", BigInteger, nullable=False),
    Index("ix_leaderboard_scores_rank", "period", "starts_on", "points", "member_id"),
)

leaderboard_awards = Table(
    "leaderboard_awards", metadata,
    Column("period", String(8), primary_key=True),
    Column("starts_on", Date, primary_key=True),
    Column("rank", Integer, primary_key=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("awarded_at", UtcDateTime, nullable=False),
)

member_badges = Table(
    "member_badges", metadata,
    Column("member_id", Id, ForeignKey("members.id"), primary_key=True),
    Column("code", String(32), primary_key=True),
    Column("awarded_at", UtcDateTime, nullable=False),
)

partners = Table(
    "partners", metadata,
    Column("code", String(32), primary_key=True),
    Column("name", String(60), nullable=False),
    Column("rate_points", Integer, nullable=False),
    Column("rate_partner_points", Integer, nullable=False),
    Column("fen_per_100_points", Integer, nullable=False),
    Column("daily_points_per_member", BigInteger, nullable=False),
    Column("daily_points", BigInteger, nullable=False),
    Column("confirm_minutes", Integer, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("min_tier_level", Integer, nullable=False, default=1),
)

# The secret itself is kept: checking an HMAC needs it, so these rows are credentials.
partner_keys = Table(
    "partner_keys", metadata,
    Column("key_id", String(40), primary_key=True),
    Column("partner_code", String(32), ForeignKey("partners.code"), nullable=False),
    Column("secret", String(100), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
)

partner_nonces = Table(
    "partner_nonces", metadata,
    Column("key_id", String(40), primary_key=True),
    Column("nonce", String(64), primary_key=True),
    Column("seen_at", UtcDateTime, nullable=False),
    Index("ix_partner_nonces_seen_at", "seen_at"),
)

partner_exchanges = Table(
    "partner_exchanges", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("partner_code", String(32), ForeignKey("partners.code"), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("direction", String(3), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("partner_points", BigInteger, nullable=False),
    Column("fen_per_100_points", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("partner_account", String(64), nullable=True),
    Column("partner_ref", String(64), nullable=True),
    Column("failure_reason", String(200), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime, nullable=True),
    Index("ix_partner_exchanges_partner", "partner_code", "id"),
    Index("ix_partner_exchanges_member", "member_id", "id"),
    Index("ix_partner_exchanges_day", "partner_code", "created_at"),
    Index("ix_partner_exchanges_resolved", "partner_code", "resolved_at"),
    Index("ix_partner_exchanges_pending", "status", "expires_at"),
)

member_segments = Table(
    "member_segments", metadata,
    Column("member_id", Id, ForeignKey("members.id"), primary_key=True),
    Column("segment", String(16), primary_key=True),
    Column("since", UtcDateTime, nullable=False),
    Index("ix_member_segments_segment", "segment", "member_id"),
)

webhook_deliveries = Table(
    "webhook_deliveries", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event", String(40), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("last_status", Integer, nullable=True),
    Column("last_error", String(300), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime, nullable=True),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
)

webhook_attempts = Table(
    "webhook_attempts", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("delivery_id", Id, ForeignKey("webhook_deliveries.id"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", String(300), nullable=True),
    Column("duration_ms", Integer, nullable=False),
    Index("ix_webhook_attempts_delivery", "delivery_id", "id"),
)

item_views = Table(
    "item_views", metadata,
    Column("item_id", Id, ForeignKey("mall_items.id"), primary_key=True),
    Column("member_id", Id, ForeignKey("members.id"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("viewed_at", UtcDateTime, nullable=False),
    Index("ix_item_views_day", "day", "item_id"),
)

# Per-day sums of the ledger, written with the entries (see domain/day_summaries.py).
day_flows = Table(
    "day_flows", metadata,
    Column("day", Date, primary_key=True),
    Column("reason", String(32), primary_key=True),
    Column("shard", Integer, primary_key=True),
    Column("credited", BigInteger, nullable=False),
    Column("debited", BigInteger, nullable=False),
    Column("order_refunds", BigInteger, nullable=False),
)

day_active = Table(
    "day_active", metadata,
    Column("day", Date, primary_key=True),
    Column("previous_day", Date, primary_key=True),  # NO_PREVIOUS_DAY: never active, or long before
    Column("shard", Integer, primary_key=True),
    Column("members", BigInteger, nullable=False),
)

# How far an import of a file got (domain/imports.py): the last line a committed batch covered.
import_checkpoints = Table(
    "import_checkpoints", metadata,
    Column("kind", String(16), primary_key=True),
    Column("source", String(64), primary_key=True),  # the file's SHA-256
    Column("last_line", BigInteger, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Per-day figures of items, tasks and campaigns, written with their rows (see domain/day_figures.py).
day_figures = Table(
    "day_figures", metadata,
    Column("day", Date, primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("code", String(100), primary_key=True),
    Column("shard", Integer, primary_key=True),
    Column("times", BigInteger, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("views", BigInteger, nullable=False),
)

# Members per score band, and per exact score and block of member ids, of each leaderboard: kept by
# triggers on leaderboard_scores (migration 0028).
leaderboard_bands = Table(
    "leaderboard_bands", metadata,
    Column("period", String(8), primary_key=True),
    Column("starts_on", Date, primary_key=True),
    Column("band", BigInteger, primary_key=True),  # the low end of domain.leaderboards.score_band
    Column("shard", Integer, primary_key=True),
    Column("members", BigInteger, nullable=False),
)

leaderboard_ties = Table(
    "leaderboard_ties", metadata,
    Column("period", String(8), primary_key=True),
    Column("starts_on", Date, primary_key=True),
    Column("points", BigInteger, primary_key=True),
    Column("block", BigInteger, primary_key=True),  # member_id // TIE_BLOCK
    Column("members", BigInteger, nullable=False),
)
