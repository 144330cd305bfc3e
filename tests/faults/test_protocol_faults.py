"""SPEC §7 and §8 under faults, at the protocol level, against real processes: every reader
sees every change exactly once, in seq order, and ends with the page a fresh load shows."""

import asyncio
import json
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from liveblog.blog.models import Change, Post
from tests.faults.client import LiveClient, http_json, page_state
from tests.servers import asgi_servers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]


def posts_url(server, slug):
    return f"{server.url}/api/v1/events/{slug}/posts/"


async def publish(server, newsroom, body, **fields):
    status, post = await asyncio.to_thread(
        http_json, "POST", posts_url(server, newsroom.event.slug), newsroom.token,
        {"body": body, **fields},
    )  # fmt: skip
    assert status == 201, post
    return post


async def edit(server, newsroom, post_id, **fields):
    url = f"{posts_url(server, newsroom.event.slug)}{post_id}/"
    status, _ = await asyncio.to_thread(http_json, "PATCH", url, newsroom.token, fields)
    assert status == 200


async def remove(server, newsroom, post_id):
    url = f"{posts_url(server, newsroom.event.slug)}{post_id}/"
    status, _ = await asyncio.to_thread(http_json, "DELETE", url, newsroom.token)
    assert status == 204


async def last_seq(server, slug) -> int:
    status, event = await asyncio.to_thread(http_json, "GET", f"{server.url}/api/v1/events/{slug}/")
    assert status == 200
    return event["last_seq"]


def assert_converged(client: LiveClient, server, slug, *, since: int, upto: int) -> None:
    assert client.applied == list(range(since + 1, upto + 1)), "every change once, in order"
    assert client.state == page_state(server, slug), "same as a fresh page load"


def test_reader_reconnecting_with_since_ends_with_fresh_page_state(newsroom):
    slug = newsroom.event.slug
    with asgi_servers(1) as (server,):

        async def scenario():
            first = await publish(server, newsroom, "Before the reader came")
            reader = LiveClient([server], slug)
            task = asyncio.create_task(reader.run())
            await reader.wait_for_seq(1, timeout=10)
            task.cancel()  # the phone loses signal
            posts = [await publish(server, newsroom, f"While away {i}") for i in range(5)]
            await edit(server, newsroom, posts[0]["id"], body="While away 0 (corrected)")
            await remove(server, newsroom, first["id"])
            upto = await last_seq(server, slug)
            assert upto == 8
            back = LiveClient([server], slug, seq=reader.seq, state=dict(reader.state))
            task = asyncio.create_task(back.run())
            await back.wait_for_seq(upto, timeout=10)
            back.stop()
            task.cancel()
            assert_converged(back, server, slug, since=1, upto=upto)
            assert back.connections == 1 and back.gap_fills == 0, "replayed by the server"

        asyncio.run(scenario())


def test_concurrent_publishers_on_two_processes_reach_every_reader_in_order(newsroom):
    slug = newsroom.event.slug
    with asgi_servers(2) as (a, b):

        async def scenario():
            readers = [LiveClient([a], slug) for _ in range(3)] + [
                LiveClient([b], slug) for _ in range(3)
            ]
            tasks = [asyncio.create_task(r.run()) for r in readers]
            for reader in readers:
                await asyncio.wait_for(reader.connected.wait(), timeout=10)

            async def publisher(server, name):
                for i in range(15):
                    await publish(server, newsroom, f"{name} {i}")

            await asyncio.gather(publisher(a, "alpha"), publisher(b, "beta"))
            for reader in readers:
                await reader.wait_for_seq(30, timeout=15)
            for task in tasks:
                task.cancel()
            for reader in readers:
                assert_converged(reader, a, slug, since=0, upto=30)

        asyncio.run(scenario())
    assert sorted(Change.objects.values_list("seq", flat=True)) == list(range(1, 31))


def test_redis_outage_stores_the_entry_and_readers_converge(newsroom, private_redis):
    slug = newsroom.event.slug
    with asgi_servers(1, REDIS_URL=private_redis.url) as (server,):

        async def scenario():
            reader = LiveClient([server], slug)
            task = asyncio.create_task(reader.run())
            await asyncio.wait_for(reader.connected.wait(), timeout=10)
            await publish(server, newsroom, "Before the outage")
            await reader.wait_for_seq(1, timeout=10)

            private_redis.kill()
            during = await publish(server, newsroom, "Published while Redis is down")
            stored = await asyncio.to_thread(Post.objects.filter(pk=during["id"]).exists)
            assert stored, "stored despite Redis"
            await reader.wait_for_seq(2, timeout=10)  # from the change log, by the hub

            private_redis.start()
            await publish(server, newsroom, "After Redis is back")
            await reader.wait_for_seq(3, timeout=10)
            await publish(server, newsroom, "And the push path works again")
            await reader.wait_for_seq(4, timeout=10)
            task.cancel()
            assert_converged(reader, server, slug, since=0, upto=4)
            assert reader.connections == 1, "converged without a reload or reconnect"

        asyncio.run(scenario())


def test_sigterm_readers_reconnect_to_the_other_process_and_miss_nothing(newsroom):
    slug = newsroom.event.slug
    with asgi_servers(2) as (a, b):

        async def scenario():
            readers = [LiveClient([a, b], slug) for _ in range(5)]
            tasks = [asyncio.create_task(r.run()) for r in readers]
            for reader in readers:
                await asyncio.wait_for(reader.connected.wait(), timeout=10)
            for i in range(20):
                await publish(b, newsroom, f"entry {i}")
                if i == 5:
                    await asyncio.to_thread(a.stop)  # SIGTERM: a deployment replaces it
            for reader in readers:
                await reader.wait_for_seq(20, timeout=20)
            for task in tasks:
                task.cancel()
            for reader in readers:
                assert_converged(reader, b, slug, since=0, upto=20)
                assert reader.connections >= 2, "moved to the other process"

        asyncio.run(scenario())


def test_same_idempotency_key_ten_times_concurrently_is_one_post_one_broadcast(newsroom):
    slug = newsroom.event.slug
    with asgi_servers(2) as servers:

        async def scenario():
            reader = LiveClient([servers[0]], slug)
            task = asyncio.create_task(reader.run())
            await asyncio.wait_for(reader.connected.wait(), timeout=10)
            barrier = threading.Barrier(10)

            def send(i):
                server = servers[i % 2]
                barrier.wait(timeout=10)
                request = urllib.request.Request(
                    posts_url(server, slug),
                    data=json.dumps({"body": "Only once"}).encode(),
                    method="POST",
                    headers={
                        "Authorization": f"Bearer {newsroom.token}",
                        "Content-Type": "application/json",
                        "Idempotency-Key": "retry-storm-1",
                    },
                )
                with urllib.request.urlopen(request, timeout=15) as response:
                    return response.status, json.loads(response.read())["id"]

            loop = asyncio.get_running_loop()
            with ThreadPoolExecutor(10) as pool:  # all ten at once: the default pool is smaller
                results = await asyncio.gather(
                    *(loop.run_in_executor(pool, send, i) for i in range(10))
                )
            assert {post_id for _, post_id in results} == {results[0][1]}
            assert sorted(status for status, _ in results).count(201) == 1
            await reader.wait_for_seq(1, timeout=10)
            await asyncio.sleep(1.5)  # give a second broadcast every chance to show up
            task.cancel()
            assert reader.applied == [1]

        asyncio.run(scenario())
    assert Post.objects.count() == 1
    assert Change.objects.count() == 1
