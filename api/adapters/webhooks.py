"""The HTTP side of outbound webhooks: one pooled client, short timeouts, no redirects followed."""
from __future__ import annotations

import httpx

from domain.webhooks import TransportError

TIMEOUT = httpx.Timeout(5.0, connect=3.0)


class HttpWebhookTransport:
    def __init__(self) -> None:
        self._client: httpx.AsyncClient | None = None

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        if self._client is None:  # made on first use, inside the loop that will use it
            self._client = httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False,
                                             headers={"User-Agent": "jifen-webhooks/1"})
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise TransportError(f"{type(error).__name__}: {error}") from None
        return response.status_code

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
