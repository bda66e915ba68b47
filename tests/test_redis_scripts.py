"""The pipelined script connection (persistence/redis_scripts.py) against a real Redis: every caller gets
its own reply, and a lost, killed or silent connection fails its callers with redis-py's errors."""
import asyncio
import contextlib

import pytest
import redis

from persistence.redis_scripts import ScriptLink

ECHO = "return {KEYS[1], ARGV[1]}"


async def test_concurrent_calls_each_get_their_own_reply(redis_url):
    link = ScriptLink(redis_url)
    echo = link.register_script(ECHO)
    replies = await asyncio.gather(*(echo(keys=[f"k{n}"], args=[n]) for n in range(500)))
    assert replies == [[f"k{n}", str(n)] for n in range(500)]
    await link.close()


async def test_a_script_redis_forgot_is_sent_whole_again(redis_url):
    link = ScriptLink(redis_url)
    echo = link.register_script(ECHO)
    assert await echo(keys=["a"], args=[1]) == ["a", "1"]
    await link.command("SCRIPT", "FLUSH")  # as after a restart: Redis no longer knows the SHA
    assert await echo(keys=["b"], args=[2]) == ["b", "2"]
    await link.close()


async def test_a_script_error_is_a_response_error_and_the_connection_goes_on(redis_url):
    link = ScriptLink(redis_url)
    failing = link.register_script("return redis.call('INCR', KEYS[1])")
    plain = link.register_script(ECHO)
    await link.command("SET", "jifen-test-not-a-number", "x")
    try:
        with pytest.raises(redis.ResponseError):
            await failing(keys=["jifen-test-not-a-number"])
        assert await plain(keys=["still"], args=["here"]) == ["still", "here"]
    finally:
        await link.command("DEL", "jifen-test-not-a-number")
        await link.close()


async def test_a_cancelled_caller_does_not_take_the_next_callers_reply(redis_url):
    link = ScriptLink(redis_url)
    await link.command("PING")  # connected, so the next command is written at once
    given_up = asyncio.ensure_future(link.command("ECHO", "first"))
    await asyncio.sleep(0)  # written, not answered yet
    given_up.cancel()
    assert await link.command("ECHO", "second") == "second"
    await link.close()


async def test_a_killed_connection_fails_its_callers_and_the_next_call_connects_again(redis_url):
    link = ScriptLink(redis_url)
    mine = await link.command("CLIENT", "ID")
    admin = redis.asyncio.Redis.from_url(redis_url)
    await admin.execute_command("CLIENT", "KILL", "ID", mine)
    await admin.aclose()
    await asyncio.sleep(0.05)
    assert await link.command("ECHO", "back") == "back"
    assert await link.command("CLIENT", "ID") != mine
    await link.close()


async def test_the_database_in_the_url_is_selected(redis_url, redis_prefix):
    link = ScriptLink(redis_url.rsplit("/", 1)[0] + "/3")
    key = f"{redis_prefix}:selected"
    await link.command("SET", key, "here")
    plain = redis.Redis.from_url(redis_url.rsplit("/", 1)[0] + "/3")
    try:
        assert plain.get(key) == b"here"
    finally:
        plain.delete(key)
        plain.close()
        await link.close()


async def test_a_silent_server_times_out_and_an_absent_one_refuses():
    async def never_answer(reader, writer):
        with contextlib.suppress(ConnectionError):
            await reader.read()  # reads what is sent, answers nothing
        writer.close()

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    link = ScriptLink(f"redis://127.0.0.1:{port}/0", timeout=0.2)
    with pytest.raises(redis.TimeoutError):
        await asyncio.gather(link.command("PING"), link.command("PING"))
    with pytest.raises(redis.TimeoutError):  # a fresh connection, just as silent
        await link.command("PING")
    await link.close()
    server.close()
    await server.wait_closed()
    with pytest.raises(redis.ConnectionError):
        await ScriptLink(f"redis://127.0.0.1:{port}/0", timeout=0.2).command("PING")
