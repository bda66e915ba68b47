"""The admission gate in Redis, shared by every process that serves one database (`--workers`, hosts).

Per scope (a flash sale, a mall item, a 拼团 group, a lottery) three keys:
- `…:epoch`, a random token replaced by every `forget`; a Redis that lost it (flushed, restarted
  empty) makes a new one, so every process reads its facts and counts again from the database;
- `…:count`, a hash of the units `left` and the `generation` of the count (random, so a count
  rebuilt after a flush never shares one with tickets issued before it);
- `…:held`, the tickets not yet settled, scored by when their lease ends. A short count is a true
  "sold out" only when no ticket is held: a holder's transaction may still fail and give its units
  back, so while tickets are held a short count sends the attempt to the transaction. A process
  killed between taking a ticket and settling it leaves its ticket here; once its lease lapses the
  count is dropped and loaded again from the database.

Each step is one Lua script, so a step is atomic however many processes race. When Redis cannot be
reached the gate answers OPEN (the database decides alone, as without a gate) and waits a few
seconds before trying Redis again; a `forget` that could not reach Redis is sent before anything
else once it can, so no process counts from a stock that changed while Redis was away.
"""
from __future__ import annotations

import logging
import secrets
import time

from domain.admission import Admittance, SingleFlight, StockReader, Ticket, Verdict
from persistence.redis_scripts import ScriptLink

log = logging.getLogger("jifen.admission")

LEASE_MS = 15_000  # longer than any transaction takes; a lapsed lease only costs a reload
KEEP_MS = 7 * 24 * 3600 * 1000  # a sale's keys outlive it by a week; losing them costs one reload
PAUSE_AFTER_FAILURE = 5.0  # seconds without Redis after it failed, so a dead Redis costs no timeouts

EPOCH = """
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[1], epoch, 'PX', ARGV[2])
end
return epoch
"""

# KEYS: epoch, count, held. ARGV: epoch, quantity, ticket id, lease ms, fresh epoch, keep ms
# Leases run on Redis's clock, the one clock every process shares.
ADMIT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  epoch = ARGV[5]
  redis.call('SET', KEYS[1], epoch, 'PX', ARGV[6])
end
if epoch ~= ARGV[1] then return {'stale', epoch} end
local left = redis.call('HGET', KEYS[2], 'left')
if not left then return {'empty', epoch} end
local quantity = tonumber(ARGV[2])
if tonumber(left) >= quantity then
  redis.call('HINCRBY', KEYS[2], 'left', -quantity)
  redis.call('ZADD', KEYS[3], now + tonumber(ARGV[4]), ARGV[3])
  redis.call('PEXPIRE', KEYS[3], ARGV[6])
  return {'admitted', epoch, redis.call('HGET', KEYS[2], 'generation')}
end
if redis.call('ZCARD', KEYS[3]) == 0 then return {'sold out', epoch} end
if redis.call('ZCOUNT', KEYS[3], '-inf', now) > 0 then
  redis.call('DEL', KEYS[2], KEYS[3])
  return {'empty', epoch}
end
return {'open', epoch}
"""

# KEYS: epoch, count, held. ARGV: epoch the stock was read under, stock, generation, keep ms
LOAD = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('HSET', KEYS[2], 'left', ARGV[2], 'generation', ARGV[3])
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
  redis.call('DEL', KEYS[3])
end
return 1
"""

# KEYS: count, held. ARGV: ticket id, generation, quantity
GIVE_BACK = """
if redis.call('ZREM', KEYS[2], ARGV[1]) == 1 and redis.call('HGET', KEYS[1], 'generation') == ARGV[2] then
  redis.call('HINCRBY', KEYS[1], 'left', ARGV[3])
end
return 1
"""

# KEYS: held. ARGV: ticket id
SETTLE = """
return redis.call('ZREM', KEYS[1], ARGV[1])
"""

# KEYS: count, held. ARGV: generation
RECOUNT = """
if redis.call('HGET', KEYS[1], 'generation') == ARGV[1] then
  redis.call('DEL', KEYS[1], KEYS[2])
end
return 1
"""

# KEYS: epoch, count, held. ARGV: fresh epoch, keep ms
FORGET = """
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('DEL', KEYS[2], KEYS[3])
return 1
"""


def fresh_token() -> str:
    return secrets.token_hex(8)


class RedisTicketCounters:
    """`domain.admission.Admission` over Redis."""

    def __init__(self, url: str, prefix: str, *, lease_ms: int = LEASE_MS, timeout: float = 2.0,
                 pause_after_failure: float = PAUSE_AFTER_FAILURE) -> None:
        self.redis = ScriptLink(url, timeout=timeout)
        self.prefix = prefix
        self.lease_ms = lease_ms
        self.pause_after_failure = pause_after_failure
        self.scripts = {name: self.redis.register_script(source) for name, source in
                        (("epoch", EPOCH), ("admit", ADMIT), ("load", LOAD), ("give_back", GIVE_BACK),
                         ("settle", SETTLE), ("recount", RECOUNT), ("forget", FORGET))}
        self.loads = SingleFlight()
        self.paused_until = 0.0
        self.unsent_forgets: set[str] = set()

    def keys(self, scope: str) -> list[str]:
        base = f"{self.prefix}:gate:{scope}"
        return [f"{base}:epoch", f"{base}:count", f"{base}:held"]

    async def _run(self, name: str | None, keys: list[str] = (), args: list = ()) -> object | None:
        """The script's answer (True for None, which only sends the forgets); None when Redis cannot be
        reached now (the caller goes without the gate)."""
        import redis

        if time.monotonic() < self.paused_until:
            return None
        try:
            while self.unsent_forgets:
                scope = next(iter(self.unsent_forgets))
                await self.scripts["forget"](keys=self.keys(scope), args=[fresh_token(), KEEP_MS])
                self.unsent_forgets.discard(scope)
            return True if name is None else await self.scripts[name](keys=keys, args=args)
        except (redis.RedisError, OSError) as problem:
            self.paused_until = time.monotonic() + self.pause_after_failure
            log.warning("admission gate unavailable, attempts go to the database for %.1f s: %s",
                        self.pause_after_failure, problem)
            return None

    async def epoch(self, scope: str) -> str | None:
        answer = await self._run("epoch", self.keys(scope)[:1], [fresh_token(), KEEP_MS])
        return None if answer is None else str(answer)

    async def admit(self, scope: str, quantity: int, epoch: str, read_stock: StockReader) -> Admittance:
        for _ in range(2):  # once more after loading the count
            ticket_id = fresh_token()
            answer = await self._run("admit", self.keys(scope),
                                     [epoch, quantity, ticket_id, self.lease_ms, fresh_token(), KEEP_MS])
            if answer is None:
                return Admittance(Verdict.OPEN)
            verdict, current = answer[0], answer[1]
            if verdict == "admitted":
                return Admittance(Verdict.ADMITTED, current, Ticket(scope, quantity, answer[2], ticket_id))
            if verdict == "stale":
                return Admittance(Verdict.STALE, current)
            if verdict == "sold out":
                return Admittance(Verdict.SOLD_OUT, current)
            if verdict == "open":
                return Admittance(Verdict.OPEN, current)
            # "empty": no count yet, or one dropped; the database has the truth
            if not await self.loads.run(f"{scope}\n{epoch}", lambda: self._load(scope, epoch, read_stock)):
                return Admittance(Verdict.OPEN, current)
        return Admittance(Verdict.OPEN, epoch)

    async def _load(self, scope: str, epoch: str, read_stock: StockReader) -> bool:
        """Whether a count is there now; not one read while the epoch moved on."""
        stock = await read_stock()
        return stock is not None and bool(
            await self._run("load", self.keys(scope), [epoch, max(0, stock), fresh_token(), KEEP_MS]))

    async def give_back(self, ticket: Ticket) -> None:
        await self._run("give_back", self.keys(ticket.scope)[1:], [ticket.id, ticket.generation, ticket.quantity])

    async def settle(self, ticket: Ticket) -> None:
        """Unsent (Redis away), the ticket's lease lapses instead: at worst one reload of the count."""
        await self._run("settle", self.keys(ticket.scope)[2:], [ticket.id])

    async def recount(self, ticket: Ticket) -> None:
        await self._run("recount", self.keys(ticket.scope)[1:], [ticket.generation])

    async def forget(self, scope: str) -> None:
        self.unsent_forgets.add(scope)
        await self._run(None)

    async def close(self) -> None:
        await self.redis.close()
