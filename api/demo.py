"""Demo data for `jifen serve --demo`: a brand with tiers, a check-in rule and members with history."""
from __future__ import annotations

from datetime import timedelta

from api.services import Services
from domain.brand import BrandSettings
from domain.checkin import CheckInRule, CheckInService
from domain.clock import ManualClock
from domain.configuration import Actor
from domain.points import PointsOperations
from domain.tiers import DEFAULT_TIERS

DEMO_KEY = "demo"
STAFF = Actor("staff", "demo-staff")
# (member id, nickname, days of check-ins ending yesterday, welcome points)
MEMBERS = [("demo-alice", "小鹿", 8, 500), ("demo-bob", "阿杰", 3, 2000), ("demo-carol", "Carol", 45, 100)]


async def seed(services: Services) -> bool:
    """Seed once; later runs find the marker and change nothing. Returns whether it seeded."""
    tx = services.transactions
    if await tx.read(lambda uow: uow.settings.get(DEMO_KEY)) is not None:
        return False
    await services.brand.update(STAFF, BrandSettings("Jifen 示例茶饮", "Asia/Shanghai", 12))
    for tier in DEFAULT_TIERS.tiers:
        await services.tiers.update(STAFF, tier)
    await services.check_in.update_rule(STAFF, CheckInRule(10, ((7, 50), (30, 200))))
    for external_id, nickname, days, welcome in MEMBERS:
        await _member_with_history(services, external_id, nickname, days, welcome)
    now = services.clock.now()
    await tx.write(lambda uow: uow.settings.put(DEMO_KEY, {"seededAt": now.isoformat()}, STAFF.label, now))
    return True


async def _member_with_history(services: Services, external_id: str, nickname: str, days: int,
                               welcome: int) -> None:
    past = ManualClock(services.clock.now() - timedelta(days=days))
    member = await services.members.ensure(external_id, nickname)
    await services.points.adjust(STAFF, member.id, welcome, "新会员欢迎礼", f"demo-welcome-{external_id}")
    check_in = CheckInService(PointsOperations(services.transactions, past), services.transactions, past)
    for day in range(days):
        await check_in.check_in(Actor("member", external_id), member.id, f"demo-checkin-{day}")
        past.advance(timedelta(days=1))
