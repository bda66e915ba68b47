"""The ASGI app: GraphQL at /graphql (HTTP and WebSocket), /healthz, and the background sweep."""
from __future__ import annotations

import contextlib
import gc
import json
import logging
import uuid
from datetime import timedelta

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from api.auth import ANONYMOUS, Caller, InvalidToken, caller_from_header
from api.config import Settings
from api.context import Context, build_loaders
from api.schema import build_schema
from api.scheduler import Scheduler
from api.services import Services
from domain.clock import Clock
from domain.members import Member

log = logging.getLogger("jifen.api")

INIT_TIMEOUT_SECONDS = 10
MAX_SUBSCRIPTIONS_PER_CONNECTION = 10


class JifenGraphQL(GraphQL):
    def __init__(self, services: Services, settings: Settings) -> None:
        super().__init__(build_schema(introspection=settings.is_dev),
                         graphql_ide="graphiql" if settings.is_dev else None, allow_queries_via_get=True,
                         subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
                         connection_init_wait_timeout=timedelta(seconds=INIT_TIMEOUT_SECONDS),
                         max_subscriptions_per_connection=MAX_SUBSCRIPTIONS_PER_CONNECTION,
                         # Browsers' WebSockets from other sites are refused (strawberry checks Origin;
                         # clients that send none, such as mini-programs, authenticate by token alone).
                         # In dev any page may connect, for local H5 dev servers.
                         allowed_origins=("*",) if settings.is_dev else tuple(settings.allowed_origins))
        self.services = services
        self.secret = settings.secret

    async def on_ws_connect(self, context: Context) -> None:
        """Authenticate a WebSocket in `connection_init` ({"authorization": "Bearer <token>"}).

        No authorization means anonymous (the public activity feed); a bad token closes the
        socket with 4403 before anything is subscribed.
        """
        params = context.connection_params or {}
        header = params.get("authorization") or params.get("Authorization")
        if header is not None and not isinstance(header, str):
            raise ConnectionRejectionError()
        try:
            caller = caller_from_header(self.secret, header)
        except InvalidToken:
            raise ConnectionRejectionError() from None
        if caller.is_member:
            member = await self.services.members.ensure(caller.name, caller.nickname)
            caller, context.member = Caller(caller.kind, caller.name, caller.nickname, member.id), member
        context.caller = caller

    async def get_context(self, request, response) -> Context:
        state = request.scope.get("state", {})
        return Context(self.services, state.get("caller", ANONYMOUS), build_loaders(self.services),
                       member=state.get("member"), request=request, response=response,
                       request_id=state.get("request_id") or uuid.uuid4().hex)


def graphql_error(status: int, message: str, code: str, request_id: str | None = None) -> Response:
    extensions = {"code": code, **({"requestId": request_id} if request_id else {})}
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if status == 401 else {}
    return Response(json.dumps({"errors": [{"message": message, "extensions": extensions}]}, ensure_ascii=False),
                    status_code=status, media_type="application/json", headers=headers)


class Authenticating:
    """Check the bearer token and load (or create) the member before GraphQL runs.

    A bad token never reaches a resolver; a failure while loading the member is
    answered like any internal error: masked, with a request id, and logged.
    """

    def __init__(self, graphql: JifenGraphQL, services: Services, secret: str) -> None:
        self.graphql = graphql
        self.services = services
        self.secret = secret

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            state = scope.setdefault("state", {})
            state["request_id"] = request_id = uuid.uuid4().hex
            try:
                caller = caller_from_header(self.secret, Headers(scope=scope).get("authorization"))
            except InvalidToken as error:
                await graphql_error(401, str(error), "UNAUTHENTICATED")(scope, receive, send)
                return
            try:
                state["caller"], state["member"] = await self.signed_in(caller)
            except Exception:  # masked below; the traceback goes to the log with the request id
                log.exception("could not load the caller [request %s]", request_id)
                await graphql_error(500, "Internal server error", "INTERNAL_SERVER_ERROR",
                                    request_id)(scope, receive, send)
                return
        await self.graphql(scope, receive, send)

    async def signed_in(self, caller: Caller) -> tuple[Caller, Member | None]:
        if not caller.is_member:
            return caller, None
        member = await self.services.members.ensure(caller.name, caller.nickname)
        return Caller(caller.kind, caller.name, caller.nickname, member.id), member


def create_app(settings: Settings, clock: Clock | None = None, services: Services | None = None) -> Starlette:
    services = services or Services.build(settings.database_url, clock, redis_url=settings.redis_url,
                                      redis_prefix=settings.redis_prefix)
    scheduler = Scheduler(services, settings.sweep_seconds)
    graphql = Authenticating(JifenGraphQL(services, settings), services, settings.secret)

    async def healthz(_: Request) -> JSONResponse:
        try:
            await services.database.ping()
        except Exception:  # any failure to answer means unhealthy; details go to the log
            log.exception("health check failed")
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette):
        # The schema, the ORM metadata and the imported modules live as long as the process: frozen, a
        # full collection no longer walks them; and with a larger first generation, full collections
        # come far less often. With a thousand WebSockets open, the defaults paused the process for
        # 100-350 ms now and then: toast p99 40-180 ms, against 10-27 ms so (bench/subscribers.py).
        gc.freeze()
        gc.set_threshold(50_000, 50, 100)
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


def app_from_env() -> Starlette:
    """The app of one `jifen serve --workers N` process, configured from the environment."""
    return create_app(Settings.from_env())
