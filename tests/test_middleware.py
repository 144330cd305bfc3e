"""Under ASGI the middleware run in the request's thread (SyncChain), instead of each
hopping from the event loop to a thread and back twice."""

import threading

import pytest
from django.test import AsyncClient
from django.utils.deprecation import MiddlewareMixin

pytestmark = pytest.mark.django_db(transaction=True)


async def test_no_middleware_runs_in_async_mode(monkeypatch):
    async_calls = []
    acall = MiddlewareMixin.__acall__

    async def counted(self, request):
        async_calls.append(type(self).__name__)
        return await acall(self, request)

    monkeypatch.setattr(MiddlewareMixin, "__acall__", counted)
    response = await AsyncClient().get("/api/schema/")
    assert response.status_code == 200
    assert async_calls == [], "each of these hopped to a thread and back twice"


async def test_the_middleware_and_a_sync_view_share_one_thread(monkeypatch):
    from django.contrib.sessions.middleware import SessionMiddleware

    from liveblog.api import views

    threads = {}
    process_request, response_for = SessionMiddleware.process_request, views.JsonResponse

    def request_seen(self, request):
        threads["middleware"] = threading.get_ident()
        return process_request(self, request)

    def answered(*args, **kwargs):
        threads["view"] = threading.get_ident()
        return response_for(*args, **kwargs)

    monkeypatch.setattr(SessionMiddleware, "process_request", request_seen)
    monkeypatch.setattr(views, "JsonResponse", answered)
    response = await AsyncClient().get("/api/v1/events/")
    assert response.status_code == 200
    assert threads["middleware"] == threads["view"] != threading.get_ident()


async def test_an_async_view_still_answers():
    response = await AsyncClient().get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"
