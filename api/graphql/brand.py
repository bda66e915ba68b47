"""Brand settings: name, time zone for calendar days, points expiry policy."""
from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.errors import UserError, require_staff, user_errors
from domain import brand
from domain.errors import DomainError


@strawberry.type(name="BrandSettings")
class BrandSettingsType:
    name: str
    timezone: str
    points_expiry_months: int = strawberry.field(
        description="Points expire at the end of the Nth month after the month they were earned; 0 = never.")

    @classmethod
    def of(cls, settings: brand.BrandSettings) -> "BrandSettingsType":
        return cls(name=settings.name, timezone=settings.timezone,
                   points_expiry_months=settings.points_expiry_months)


@strawberry.input
class UpdateBrandSettingsInput:
    name: str
    timezone: str
    points_expiry_months: int


@strawberry.type
class UpdateBrandSettingsPayload:
    settings: BrandSettingsType | None
    user_errors: list[UserError]


@strawberry.type
class BrandQueries:
    @strawberry.field
    async def brand(self, info: Info) -> BrandSettingsType:
        return BrandSettingsType.of(await info.context.services.brand.settings())


@strawberry.type
class BrandMutations:
    @strawberry.mutation(description="Staff: rename the brand, change its time zone or the expiry policy.")
    async def update_brand_settings(self, info: Info, input: UpdateBrandSettingsInput) -> UpdateBrandSettingsPayload:
        staff = require_staff(info)
        try:
            settings = await info.context.services.brand.update(
                staff.actor, brand.BrandSettings(input.name.strip(), input.timezone, input.points_expiry_months))
        except DomainError as error:
            return UpdateBrandSettingsPayload(settings=None, user_errors=user_errors(error))
        return UpdateBrandSettingsPayload(settings=BrandSettingsType.of(settings), user_errors=[])
