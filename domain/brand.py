"""Brand-wide settings: time zone (for calendar days) and the points expiry policy."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain import configuration
from domain.admission import LOTTERY, scope_of
from domain.errors import InvalidInput
from domain.text import checked_text

if TYPE_CHECKING:
    from domain.clock import Clock
    from domain.configuration import Actor
    from domain.ports import Transactions, UnitOfWork


MAX_EXPIRY_MONTHS = 120


@dataclass(frozen=True)
class BrandSettings:
    name: str = "Jifen Demo"
    timezone: str = "Asia/Shanghai"
    # Points expire at the end of the Nth month after the month they were earned in; 0 means never.
    points_expiry_months: int = 12

    def __post_init__(self) -> None:
        checked_text(self.name, "name", max_length=80)
        try:
            if len(self.timezone) > 64:
                raise ValueError("too long")
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise InvalidInput(f"unknown time zone {self.timezone[:64]!r}", ("timezone",)) from None
        if not 0 <= self.points_expiry_months <= MAX_EXPIRY_MONTHS:
            raise InvalidInput(f"expiry months must be 0-{MAX_EXPIRY_MONTHS}", ("pointsExpiryMonths",))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def start_of_local_day(self, day: date) -> datetime:
        return datetime.combine(day, time(), self.zone)

    def start_of_day_of(self, moment: datetime) -> datetime:
        """The first instant of the brand's day that holds ``moment``: where daily caps and limits count from."""
        return self.start_of_local_day(self.local_date(moment))

    def expiry_for(self, earned_at: datetime) -> datetime | None:
        """First instant after the end of the Nth month following the month of earning (local time)."""
        if self.points_expiry_months == 0:
            return None
        local = earned_at.astimezone(self.zone)
        month_index = local.year * 12 + (local.month - 1) + self.points_expiry_months + 1
        return datetime(month_index // 12, month_index % 12 + 1, 1, tzinfo=self.zone).astimezone(UTC)

    def to_record(self) -> dict:
        return {"name": self.name, "timezone": self.timezone, "pointsExpiryMonths": self.points_expiry_months}

    @classmethod
    def from_record(cls, r: dict) -> "BrandSettings":
        return cls(r["name"], r["timezone"], r["pointsExpiryMonths"])


BRAND_KEY = "brand"


async def first_run_today(uow: UnitOfWork, key: str, now: datetime) -> date | None:
    """Claim today's run (the brand's day) of a daily job kept under ``key``: the day, or None when it
    ran today already. The write transaction that claims it serializes processes that ask at once."""
    today = (await brand_settings(uow)).local_date(now)
    if await uow.settings.get(key) == today.isoformat():
        return None
    await uow.settings.put(key, today.isoformat(), configuration.SYSTEM.label, now)
    return today


async def brand_settings(uow: UnitOfWork) -> BrandSettings:
    return await configuration.load(uow, BRAND_KEY, BrandSettings.from_record, BrandSettings())


class BrandService:
    def __init__(self, transactions: "Transactions", clock: "Clock") -> None:
        self.transactions = transactions
        self.clock = clock

    async def settings(self) -> BrandSettings:
        return await self.transactions.read(brand_settings)

    async def update(self, staff: "Actor", settings: BrandSettings) -> BrandSettings:
        async def work(uow: "UnitOfWork") -> BrandSettings:
            before = await brand_settings(uow)
            await configuration.store(uow, BRAND_KEY, settings.to_record(), staff, self.clock.now())
            if before.timezone != settings.timezone:
                from domain.day_summaries import mark_stale  # which reads these settings

                # Days end at other instants now: a daily limit remembered as reached until midnight may not be.
                uow.restocked.extend(scope_of(LOTTERY, lottery.id) for lottery in await uow.lotteries.all())
                await mark_stale(uow, staff.label, self.clock.now())
            return settings

        return await self.transactions.write(work)
