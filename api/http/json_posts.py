"""GraphQL over HTTP answers, and the short way for the request nearly every client sends.

How an execution result becomes an HTTP answer (`reply_for`) is decided here once, for strawberry's
view and for the short way alike: the media type the client prefers, 400 for a request error under
`application/graphql-response+json`, 429 with Retry-After for a throttled caller.

Almost every request is a POST of ``{"query", "variables", "operationName", "extensions"}`` as
`application/json`. Strawberry's HTTP view serves it through a request adapter, a content-type
parser, a sub-response and a response object, and checks for subscriptions, streaming and batches
it cannot be; on the home page that costs a tenth of the request. `JsonPosts` answers such a
request itself: the same context, the same `schema.execute`, the same reply. Anything else (GET,
another content type, a body that is not one well-formed request, a batch) goes to strawberry's view
with the body as it came.
"""
from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from strawberry.http import process_result
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from api.http.request_body import read_body, replaying

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
POST_OPERATIONS = OperationType.from_http("POST")


class Reply:
    """An answer's status, media type, extra headers and JSON body."""

    __slots__ = ("status", "media_type", "headers", "body")

    def __init__(self, status: int | None, media_type: str, headers: dict[str, str], body: dict) -> None:
        self.status = status  # None: the view's own default (200)
        self.media_type = media_type
        self.headers = headers
        self.body = body


def reply_for(result, accept: str | None) -> Reply:
    """GraphQL over HTTP: the media type the client prefers; under `application/graphql-response+json`
    a request error (the document did not parse or validate, or the variables did not coerce, so
    nothing ran) is a 400 without `data`. A throttled caller gets 429 and when to come back."""
    body = process_result(result)
    errors = result.errors
    if errors:
        throttled = next((e for e in errors if (e.extensions or {}).get("code") == "THROTTLED"), None)
        if throttled is not None:
            return Reply(429, JSON, {"retry-after": str(throttled.extensions["retryAfter"])}, body)
    if not prefers_graphql_response(accept):
        return Reply(None, JSON, {}, body)
    if result.data is None and errors and all(error.path is None for error in errors):
        body.pop("data", None)
        return Reply(400, GRAPHQL_RESPONSE, {}, body)
    return Reply(None, GRAPHQL_RESPONSE, {}, body)


def prefers_graphql_response(accept: str | None) -> bool:
    """True when the Accept header ranks the GraphQL response media type at least as high as JSON."""
    if not accept:
        return False
    weights = {}
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        weights[media.strip().lower()] = quality
    ours = weights.get(GRAPHQL_RESPONSE, 0.0)
    return ours > 0 and ours >= weights.get(JSON, 0.0)  # a tie goes to the newer type


# The statuses strawberry's view refuses with; refusals of our own name their code.
HTTP_CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


def error_response(status: int, message: str, code: str | None, accept: str | None, *,
                   request_id: str | None = None, headers: dict[str, str] | None = None) -> Response:
    """A refusal made before GraphQL ran, shaped as a GraphQL response with a stable code, in the media
    type the client prefers: every answer a client gets parses the same way."""
    extensions = {"code": code or HTTP_CODES.get(status, "BAD_REQUEST"), **({"requestId": request_id} if request_id
                                                                           else {})}
    media_type = GRAPHQL_RESPONSE if prefers_graphql_response(accept) else JSON
    body = orjson.dumps({"errors": [{"message": message, "extensions": extensions}]})
    return Response(body, status, headers={**(headers or {}), "content-type": content_type_header(media_type)})


def content_type_header(media_type: str) -> str:
    # Starlette adds a charset to text types only; the GraphQL response type names its own.
    return f"{GRAPHQL_RESPONSE}; charset=utf-8" if media_type == GRAPHQL_RESPONSE else JSON


class JsonPosts:
    """ASGI layer in front of strawberry's view (`view`): answers plain JSON POSTs, passes on the rest."""

    def __init__(self, view) -> None:
        self.view = view
        self.schema = view.schema

    async def __call__(self, scope, receive, send) -> None:
        accept = _json_post_accepting(scope)
        if accept is False:
            await self.view(scope, receive, send)
            return
        body = await read_body(receive)
        try:
            fields = plain_request(body)
        except NotARequest:
            await error_response(400, "The request body must be a JSON object", None, accept)(scope, receive, send)
            return
        if fields is None:
            await self.view(scope, replaying(body, receive), send)
            return
        await self._answer(scope, receive, send, fields, accept)

    async def _answer(self, scope, receive, send, fields: tuple, accept: str | None) -> None:
        query, variables, operation_name, extensions = fields
        # The request is there for its headers and address; its body has been read.
        context = await self.view.get_context(Request(scope), None)
        try:
            result = await self.schema.execute(query, variables, context, None, operation_name, POST_OPERATIONS,
                                               extensions)
        except (CannotGetOperationTypeError, InvalidOperationTypeError) as error:  # as the view's execute_single
            await error_response(400, _refusal(error), None, accept)(scope, receive, send)  # as the view answers
            return
        reply = reply_for(result, accept)
        await _send(send, reply.status or 200, content_type_header(reply.media_type), reply.headers,
                    orjson.dumps(reply.body))


def _json_post_accepting(scope) -> str | None | bool:
    """The Accept header of a POST of JSON (None when it sent none); False for any other request.
    Of a header sent twice the first counts, as for the view (Starlette's `Headers.get`)."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return False
    content_type = accept = None
    for name, value in scope["headers"]:
        if name == b"content-type" and content_type is None:
            content_type = value.decode("latin-1")
        elif name == b"accept" and accept is None:
            accept = value.decode("latin-1")
    if content_type is None or not is_json(content_type):
        return False
    return accept


def is_json(content_type: str) -> bool:
    """Whether strawberry's view reads the body as JSON: its media type (case and all) contains
    `application/json`. The usual header is told without its parser (`email.message`, slow)."""
    if content_type.split(";", 1)[0].strip() == JSON:
        return True
    return JSON in content_type and JSON in parse_content_type(content_type)[0]


class NotARequest(Exception):
    """JSON that is neither a request object nor a batch (``null``, a number, a string): strawberry's
    view (0.341) fails on it with an AttributeError, a 500 for what is the client's mistake."""


def plain_request(body: bytes) -> tuple | None:
    """(query, variables, operationName, extensions) of one well-formed request; None for anything
    strawberry's view should judge (bad JSON, a batch, fields of the wrong type, no query)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if isinstance(data, list):
        return None
    if not isinstance(data, dict):
        raise NotARequest()
    query, variables = data.get("query"), data.get("variables")
    operation_name, extensions = data.get("operationName"), data.get("extensions")
    if not isinstance(query, str) or not query:
        return None
    if not isinstance(variables, (dict, type(None))) or not isinstance(extensions, (dict, type(None))):
        return None
    if not isinstance(operation_name, (str, type(None))):
        return None
    return query, variables, operation_name, extensions


def _refusal(error: Exception) -> str:
    """Strawberry's own words for a request its view refuses with 400."""
    if isinstance(error, InvalidOperationTypeError):
        return error.as_http_error_reason("POST")
    return error.as_http_error_reason()


async def _send(send, status: int, content_type: str, headers: dict[str, str], body: bytes) -> None:
    raw = [(b"content-length", str(len(body)).encode()), (b"content-type", content_type.encode())]
    raw.extend((name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items())
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
