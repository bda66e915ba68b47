"""Runs the sweep (expiry, releases, reminders, segments ...) and the webhook dispatcher in the server process."""
from __future__ import annotations

import asyncio
import contextlib
import logging

from api.ops.services import Services

log = logging.getLogger("jifen.scheduler")
# Deliveries are queued as notifications commit; a few seconds is as late as a push should be.
WEBHOOK_SECONDS = 5


class Scheduler:
    def __init__(self, services: Services, interval_seconds: float) -> None:
        self.services = services
        self.interval = interval_seconds
        self._tasks: list[asyncio.Task] = []

    def start(self) -> None:
        if self.interval > 0:
            self._tasks = [asyncio.create_task(self._loop(), name="jifen-expiry-sweep"),
                           asyncio.create_task(self._deliver_loop(), name="jifen-webhooks")]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _deliver_loop(self) -> None:
        while True:
            await asyncio.sleep(min(WEBHOOK_SECONDS, self.interval))
            try:
                await self.services.webhooks.deliver_due()
            except Exception:  # a receiver or database hiccup must not end the dispatcher
                log.exception("webhook delivery failed")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                report = await self.services.expiry.run()
                await self.services.partners.expire_stale()
                await self.services.invitations.settle_rewards()
                await self.services.segments.refresh_if_due()
                reminded = await self.services.notifications.remind_if_due()
                await self.services.coupons.expire_due()
                await self.services.coupons.remind_expiring()
                await self.services.lotteries.rotate_due_seeds()
                await self.services.leaderboards.award_closed_periods()
                await self.services.perks.grant_monthly_if_due()
                await self.services.conversions.sweep_if_due()
                await self.services.tags.refresh_if_due()
            except Exception:  # the loop must outlive one bad sweep; the next one retries
                log.exception("expiry sweep failed")
                continue
            if report.members_settled or reminded:
                log.info("expiry sweep: %s; %d expiry reminders", report, reminded)
