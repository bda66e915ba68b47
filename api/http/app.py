"""The ASGI app: GraphQL at /graphql (HTTP and WebSocket), /healthz, and the background sweep."""
from __future__ import annotations

import contextlib
import functools
import gc
import hmac
import logging
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import orjson
from cross_web import HTTPException  # what strawberry raises for HTTP-level refusals
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from api.http.auth import ANONYMOUS, Caller, InvalidToken, caller_from_header
from api.http.client_address import PerAddress, TrustingProxies, client_address
from api.ops.config import Settings
from api.execution.context import Context, Loaders
from api.http.cors import CrossOrigin, origins_of
from api.execution.cost import CostBudget
from api.http.http_protocol import TurnWritingHttp, with_headers
from api.http.json_posts import (JSON, JsonPosts, content_type_header, error_response, prefers_graphql_response,
                                 reply_for)
from api.ops.observability import Metrics, lean_log_records, new_request_id
from api.ops.tracing import Tracing
from api.http.persisted_queries import PersistedQueries, PersistedQueryError, ResolvingPersistedQueries
from api.http.request_body import read_body, replaying
from api.execution.schema import build_schema
from api.ops.scheduler import Scheduler
from api.ops.services import Services
from domain.clock import Clock
from domain.members import Member
from domain.partners import PartnerAuthError
from domain.privacy import Pseudonyms
from api.http.exports import exporting
from domain.stores import MemberCodes

log = logging.getLogger("jifen.api")

# Documents are small (and persisted ones smaller); variables too, but for an import's 1,000 rows.
MAX_BODY_BYTES = 256 * 1024
MAX_QUERY_STRING_BYTES = 16 * 1024
INIT_TIMEOUT_SECONDS = 10
MAX_SUBSCRIPTIONS_PER_CONNECTION = 10
PARTNER_KEY = "x-partner-key"
GRAPHIQL_FILES = Path(__file__).resolve().parents[1] / "graphiql"
# The reference H5 member page (web/ at the top of the project, shipped beside the api package).
H5_FILES = Path(__file__).resolve().parents[2] / "web"
# How uvicorn must run this app. Proxy headers are the app's to judge (JIFEN_TRUSTED_PROXIES), not
# uvicorn's (it trusts 127.0.0.1 by default); a WebSocket message is held to the HTTP body limit
# (uvicorn's default is 16 MB, each taken into memory whole); and frames go uncompressed: a toast is
# a few hundred bytes, and compressing it for every one of thousands of sockets costs more CPU than
# the bytes it saves. A response leaves in one write (api/http/http_protocol.py).
SERVER_OPTIONS = {"proxy_headers": False, "server_header": False, "ws_max_size": MAX_BODY_BYTES,
                  "ws_per_message_deflate": False, "http": TurnWritingHttp}


class JifenGraphQL(GraphQL):
    def __init__(self, services: Services, settings: Settings, metrics: Metrics) -> None:
        self.budget = CostBudget(settings.redis_url, settings.redis_prefix, settings.cost_budget_per_minute)
        super().__init__(build_schema(introspection=settings.is_dev, metrics=metrics, budget=self.budget),
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
        self.pseudonyms = Pseudonyms.from_secret(settings.secret)
        self.member_codes = MemberCodes.from_secret(settings.secret)
        self.sockets = PerAddress(settings.sockets_per_address)  # open WebSockets

    @property
    def graphql_ide_html(self) -> str:
        """GraphiQL (dev only) from files Jifen serves itself (api/graphiql/, at /graphiql/), not a CDN."""
        return graphiql_page()

    def encode_json(self, data: object) -> str:
        # Several times faster than json.dumps on a page of entries. Text, not bytes: strawberry
        # sends bytes over a WebSocket as binary frames, which browsers' graphql-ws cannot read.
        return orjson.dumps(data).decode()

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)  # its JSONDecodeError is json's: strawberry still answers 400

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
        context.caller, context.member = await signed_in(self.services, caller)

    async def run(self, request, *args, **kwargs):
        """Strawberry's view answers its refusals (no query, bad JSON, a batch) in plain text; here they
        are GraphQL responses with a code, as every other refusal. A WebSocket past its address's share
        is refused at the handshake (403), before it holds anything."""
        if isinstance(request, WebSocket):
            address = client_address(request)
            if not self.sockets.take(address):
                await request.close(code=1008, reason="too many connections from this address")
                return None
            try:
                return await super().run(request, *args, **kwargs)
            finally:
                self.sockets.release(address)
        try:
            return await super().run(request, *args, **kwargs)
        except HTTPException as error:
            return error_response(error.status_code, error.reason, None, request.headers.get("accept"))

    async def execute_operation(self, **kwargs):
        """A mutation sent over GET is 405 (GraphQL over HTTP), not strawberry's 400."""
        try:
            return await super().execute_operation(**kwargs)
        except HTTPException as error:
            if kwargs["request_adapter"].method == "GET" and isinstance(error.__cause__, InvalidOperationTypeError):
                raise HTTPException(405, error.reason) from error
            raise

    async def get_sub_response(self, request) -> Response:
        sub_response = await super().get_sub_response(request)
        if isinstance(request, Request):  # kept where process_result can set the status and media type
            request.state.sub_response = sub_response
        return sub_response

    async def process_result(self, request, result) -> dict:
        if not isinstance(request, Request):  # a WebSocket's message
            return await super().process_result(request, result)
        reply = reply_for(result, request.headers.get("accept"))
        sub_response = request.state.sub_response  # carries the status and headers to create_response
        sub_response.status_code = reply.status
        sub_response.media_type = reply.media_type
        sub_response.headers.update(reply.headers)
        return reply.body

    def create_response(self, response_data, sub_response: Response) -> Response:
        response = super().create_response(response_data, sub_response)
        response.headers["content-type"] = content_type_header(getattr(sub_response, "media_type", JSON))
        return response

    async def get_context(self, request, response) -> Context:
        state = request.scope.get("state", {})
        loaders = Loaders(self.services)
        if isinstance(request, Request):  # a WebSocket's context lives for hours: it reads tiers when asked
            with contextlib.suppress(Exception):  # outside GraphQL nothing masks it: a resolver that needs
                await loaders.prefetch_tiers()     # tiers reads again, and fails masked and logged
        return Context(self.services, state.get("caller", ANONYMOUS), loaders,
                       member=state.get("member"), request=request,
                       request_id=state.get("request_id") or new_request_id(), pseudonyms=self.pseudonyms,
                       member_codes=self.member_codes)


async def signed_in(services: Services, caller: Caller) -> tuple[Caller, Member | None]:
    """The caller with their member id (the member created on a first token), and the member when
    finding the id read them; otherwise the member is read when first needed (`Context.signed_in_member`)."""
    if not caller.is_member:
        return caller, None
    member_id, member = await services.members.signed_in(caller.name, caller.nickname, caller.signals)
    return replace(caller, member_id=member_id), member


def graphql_error(scope, status: int, message: str, code: str, request_id: str | None = None) -> Response:
    """A refusal before GraphQL ran, in the media type the request prefers."""
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if status == 401 else {}
    return error_response(status, message, code, Headers(scope=scope).get("accept"), request_id=request_id,
                          headers=headers)


def persisted_query_error(error: PersistedQueryError, accept: str | None) -> Response:
    """Apollo's clients read the code from a 200 under `application/json`; under the GraphQL response
    media type a request that ran nothing is a 400 (GraphQL over HTTP)."""
    return error_response(400 if prefers_graphql_response(accept) else 200, error.message, error.code, accept)


class LimitingSize:
    """Refuse oversized requests before anything reads them: a body over ``MAX_BODY_BYTES`` is 413,
    a query string over ``MAX_QUERY_STRING_BYTES`` is 414, whether or not a Content-Length was sent.
    A megabyte of hostile query text is never parsed."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if len(scope.get("query_string", b"")) > MAX_QUERY_STRING_BYTES:
            await graphql_error(scope, 414, "the query string is too long: send the document by POST",
                                "REQUEST_TOO_LARGE")(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
            await self._too_large(scope, receive, send)
            return
        try:
            await self.app(scope, self._counting(receive), send)
        except BodyTooLarge:  # raised while the body is read, before anything is answered
            await self._too_large(scope, receive, send)
        except ClientDisconnect:  # the client left before its body was whole: nobody to answer
            log.info("client left before sending its whole request")

    @staticmethod
    async def _too_large(scope, receive, send) -> None:
        await graphql_error(scope, 413, f"the request body is over {MAX_BODY_BYTES} bytes",
                            "REQUEST_TOO_LARGE")(scope, receive, send)

    @staticmethod
    def _counting(receive):
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > MAX_BODY_BYTES:  # a chunked body that never declared its length
                raise BodyTooLarge()
            return message

        return counted


class BodyTooLarge(Exception):
    pass


class Authenticating:
    """Authenticate the caller before GraphQL runs: a member's or staff's bearer token, or a
    partner's signed request (checked over the raw body, before anything rewrites it).

    A bad token or signature never reaches a resolver; a failure while loading the member is
    answered like any internal error: masked, with a request id, and logged.
    """

    def __init__(self, app, services: Services, secret: str) -> None:
        self.app = app
        self.services = services
        self.secret = secret

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            state = scope.setdefault("state", {})
            state["request_id"] = request_id = new_request_id()
            # The answer carries its request id: what a caller quotes to operators, who find the log line.
            send = with_headers(send, [(b"x-request-id", request_id.encode())])
            headers = Headers(scope=scope)
            try:
                if PARTNER_KEY in headers:
                    body = await read_body(receive)
                    receive = replaying(body, receive)
                    caller = await self._partner(scope, headers, body)
                else:
                    caller = caller_from_header(self.secret, headers.get("authorization"))
                state["caller"], state["member"] = await signed_in(self.services, caller)
            except (InvalidToken, PartnerAuthError) as error:
                await graphql_error(scope, 401, str(error), "UNAUTHENTICATED")(scope, receive, send)
                return
            except (BodyTooLarge, ClientDisconnect):
                raise
            except Exception:  # masked below; the traceback goes to the log with the request id
                log.exception("could not load the caller [request %s]", request_id)
                await graphql_error(scope, 500, "Internal server error", "INTERNAL_SERVER_ERROR",
                                    request_id)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _partner(self, scope, headers: Headers, body: bytes) -> Caller:
        if "authorization" in headers:
            raise PartnerAuthError("send a bearer token or a partner signature, not both")
        if scope["method"] != "POST":
            raise PartnerAuthError("partner requests are signed POSTs (the body is what is signed)")
        code = await self.services.partners.authenticate(
            headers[PARTNER_KEY], headers.get("x-timestamp", ""), headers.get("x-nonce", ""),
            headers.get("x-signature", ""), body)
        return Caller("partner", code)


@functools.cache
def graphiql_page() -> str:
    return (GRAPHIQL_FILES / "index.html").read_text(encoding="utf-8")


class GraphQLFirst(Starlette):
    """Starlette, with GraphQL's GETs, POSTs and WebSockets handed to the GraphQL stack before routing.

    The router and the two middlewares every route passes (error pages, exception handlers) cost
    a home-page request 2-3%, and the stack needs neither: it answers its own refusals and masks and
    logs its own errors (what escapes still gets uvicorn's plain 500). Other methods on /graphql,
    other paths and the lifespan go through Starlette as usual.
    """

    def __init__(self, graphql, **kwargs) -> None:
        super().__init__(**kwargs)
        self.graphql = graphql

    async def __call__(self, scope, receive, send) -> None:
        if self.user_middleware:  # middleware added later (CORS, say) must see GraphQL too
            await super().__call__(scope, receive, send)
            return
        if scope.get("path") == "/graphql" and (scope["type"] == "websocket"
                                                or scope["method"] in ("GET", "POST", "OPTIONS")):
            scope["app"] = self
            await self.graphql(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def metrics_refusal(settings: Settings, authorization: str | None) -> Response | None:
    """With JIFEN_METRICS_TOKEN, /metrics wants it as a bearer token; without one it is open in dev
    and not served at all in prod (404, as if absent)."""
    if settings.metrics_token is None:
        return None if settings.is_dev else Response("Not Found", 404, media_type="text/plain")
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), settings.metrics_token.encode()):
        return None
    return Response("a bearer token is needed for /metrics", 401, media_type="text/plain",
                    headers={"WWW-Authenticate": 'Bearer realm="metrics"'})


def create_app(settings: Settings, clock: Clock | None = None, services: Services | None = None):
    services = services or Services.build(settings.database_url, clock, redis_url=settings.redis_url,
                                      redis_prefix=settings.redis_prefix)
    scheduler = Scheduler(services, settings.sweep_seconds)
    metrics = Metrics()
    services.transactions.listeners.append(metrics.count_committed)
    persisted = PersistedQueries(settings.redis_url, settings.redis_prefix, settings.persisted_queries)
    services.activity.anonymous.cap = settings.anonymous_feeds_per_address
    view = JifenGraphQL(services, settings, metrics)
    tracing = Tracing(settings.otel_endpoint, services.database) if settings.otel_endpoint else None
    graphql = CrossOrigin(TrustingProxies(LimitingSize(Authenticating(
        ResolvingPersistedQueries(JsonPosts(view), persisted, persisted_query_error),
        services, settings.secret)), settings.trusted_proxies),
        None if settings.is_dev else origins_of(settings.allowed_origins))

    async def prometheus(request: Request) -> Response:
        """Prometheus text format, for the scraper only: it names operations, error codes and volumes."""
        refused = metrics_refusal(settings, request.headers.get("authorization"))
        if refused is not None:
            return refused
        metrics.holds_open.set(await services.transactions.read(lambda uow: uow.ledger.active_holds_count()))
        metrics.subscribers.set(services.broker.subscribers)
        return Response(metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")

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
            await persisted.close()
            await view.budget.close()
            await services.close()
            if tracing is not None:
                tracing.close()

    routes = [Route("/graphql", graphql, methods=["GET", "POST", "OPTIONS"]), WebSocketRoute("/graphql", graphql),
              Route("/healthz", healthz), Route("/metrics", prometheus),
              Route("/export/{kind}", exporting(services, settings.secret), methods=["GET"])]
    if settings.is_dev:
        routes.append(Mount("/graphiql", StaticFiles(directory=GRAPHIQL_FILES), name="graphiql"))
        routes.append(Mount("/h5", StaticFiles(directory=H5_FILES, html=True, check_dir=False), name="h5"))
        routes.append(Route("/", lambda _: RedirectResponse("/graphql")))  # a browser's first visit
    app = GraphQLFirst(graphql, routes=routes, lifespan=lifespan)
    app.state.services = services
    return app if tracing is None else tracing.wrap(app)


def app_from_env() -> Starlette:
    """The app of one `jifen serve --workers N` process, configured from the environment."""
    lean_log_records()  # uvicorn configured this process's logging; these switches are the module's
    return create_app(Settings.from_env())
