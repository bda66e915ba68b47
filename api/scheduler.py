"""Runs the expiry sweep on a schedule inside the server process."""
from __future__ import annotations

import asyncio
import contextlib
import logging

from api.services import Services

log = logging.getLogger("jifen.scheduler")


class Scheduler:
    def __init__(self, services: Services, interval_seconds: float) -> None:
        self.services = services
        self.interval = interval_seconds
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        if self.interval > 0:
            self._task = asyncio.create_task(self._loop(), name="jifen-expiry-sweep")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                report = await self.services.expiry.run()
                await self.services.partners.expire_stale()
                await self.services.segments.refresh_if_due()
                reminded = await self.services.notifications.remind_if_due()
                await self.services.lotteries.rotate_due_seeds()
                await self.services.leaderboards.award_closed_periods()
            except Exception:  # the loop must outlive one bad sweep; the next one retries
                log.exception("expiry sweep failed")
                continue
            if report.members_settled or reminded:
                log.info("expiry sweep: %s; %d expiry reminders", report, reminded)
