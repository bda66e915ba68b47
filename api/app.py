"""The ASGI app: GraphQL at /graphql (HTTP and WebSocket), /healthz, and the background sweep."""
from __future__ import annotations

import contextlib
import json
import logging

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from strawberry.asgi import GraphQL

from api.auth import ANONYMOUS, Caller, InvalidToken, caller_from_header
from api.config import Settings
from api.context import Context, build_loaders
from api.schema import build_schema
from api.scheduler import Scheduler
from api.services import Services
from domain.clock import Clock

log = logging.getLogger("jifen.api")


class JifenGraphQL(GraphQL):
    def __init__(self, services: Services, settings: Settings) -> None:
        super().__init__(build_schema(introspection=settings.is_dev),
                         graphql_ide="graphiql" if settings.is_dev else None, allow_queries_via_get=True)
        self.services = services

    async def get_context(self, request, response) -> Context:
        caller: Caller = request.scope.get("state", {}).get("caller", ANONYMOUS)
        member = None
        if caller.is_member:
            member = await self.services.members.ensure(caller.name, caller.nickname)
            caller = Caller(caller.kind, caller.name, caller.nickname, member.id)
        return Context(self.services, caller, build_loaders(self.services), member=member,
                       request=request, response=response)


def unauthenticated(message: str) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]}
    return Response(json.dumps(body), status_code=401, media_type="application/json",
                    headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


class Authenticating:
    """Check the bearer token before GraphQL runs, so a bad token never reaches a resolver."""

    def __init__(self, graphql: JifenGraphQL, secret: str) -> None:
        self.graphql = graphql
        self.secret = secret

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            try:
                caller = caller_from_header(self.secret, Headers(scope=scope).get("authorization"))
            except InvalidToken as error:
                await unauthenticated(str(error))(scope, receive, send)
                return
            scope.setdefault("state", {})["caller"] = caller
        await self.graphql(scope, receive, send)


def create_app(settings: Settings, clock: Clock | None = None, services: Services | None = None) -> Starlette:
    services = services or Services.build(settings.database_url, clock)
    scheduler = Scheduler(services, settings.sweep_seconds)
    graphql = Authenticating(JifenGraphQL(services, settings), settings.secret)

    async def healthz(_: Request) -> JSONResponse:
        try:
            await services.database.ping()
        except Exception:  # any failure to answer means unhealthy; details go to the log
            log.exception("health check failed")
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette):
        scheduler.start()
        try:
            yield
        finally:
            await scheduler.stop()
            await services.close()

    app = Starlette(routes=[Route("/graphql", graphql, methods=["GET", "POST"]),
                            WebSocketRoute("/graphql", graphql), Route("/healthz", healthz)],
                    lifespan=lifespan)
    app.state.services = services
    return app
