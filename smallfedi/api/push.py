"""Web Push subscriptions: POST/GET/PUT/DELETE /api/v1/push/subscription, one per access token.

Apps send the subscription as a form (`subscription[keys][p256dh]`, `data[alerts][mention]=true`,
Tusky) or as nested JSON (the official apps, Ice Cubes, Elk); both land in the same dict.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from smallfedi.api.http import JSON, bearer, current_grant, endpoint
from smallfedi.api.params import Params
from smallfedi.core import push
from smallfedi.core.errors import BadRequest

PATH = "/api/v1/push/subscription"


def entity(inst, sub: push.Subscription) -> dict:
    """Mastodon's WebPushSubscription; `id` is a JSON number (Ice Cubes and Tusky decode an Int)."""
    return {
        "id": sub.id,
        "endpoint": sub.endpoint,
        "standard": sub.standard,
        "alerts": dict(sub.alerts),
        "policy": sub.policy,
        "server_key": inst.vapid_public_key,
    }


def _flatten(value, prefix: str = "") -> dict:
    """`{"admin": {"sign_up": true}}` and `{"admin.sign_up": true}` alike."""
    flat: dict = {}
    for key, item in (value or {}).items():
        name = f"{prefix}{key}"
        if isinstance(item, dict):
            flat.update(_flatten(item, name + "."))
        else:
            flat[name] = item
    return flat


def _alerts(data: dict) -> dict[str, bool] | None:
    raw = data.get("alerts")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise BadRequest("data[alerts] must be an object")
    flat = _flatten(raw)
    values = Params(flat)
    return {name: values.bool(name) for name in flat if name in push.ALERTS}


def _policy(data: dict) -> str | None:
    value = data.get("policy")
    if value is not None and not isinstance(value, str):
        raise BadRequest("data[policy] must be a string")
    return value


def _text(value) -> str | None:
    return value if isinstance(value, str) else None


async def _token_id(request: Request) -> int:
    return (await current_grant(request)).token_id


@endpoint("push")
async def create(request: Request, params: Params) -> Response:
    inst = request.app.state.instance
    subscription = params.dict("subscription")
    keys = subscription.get("keys") if isinstance(subscription.get("keys"), dict) else {}
    data = params.dict("data")
    sub = await push.subscribe(
        inst, await _token_id(request), bearer(request),
        endpoint=_text(subscription.get("endpoint")), p256dh=_text(keys.get("p256dh")), auth=_text(keys.get("auth")),
        standard=Params(subscription).bool("standard"), alerts=_alerts(data), policy=_policy(data) or
        _text(params.raw("policy")))
    return JSON(entity(inst, sub))


@endpoint("push")
async def show(request: Request, params: Params) -> Response:
    inst = request.app.state.instance
    return JSON(entity(inst, await push.get(inst, await _token_id(request))))


@endpoint("push")
async def update(request: Request, params: Params) -> Response:
    inst = request.app.state.instance
    data = params.dict("data")
    sub = await push.update(inst, await _token_id(request), alerts=_alerts(data),
                            policy=_policy(data) or _text(params.raw("policy")))
    return JSON(entity(inst, sub))


@endpoint("push")
async def delete(request: Request, params: Params) -> Response:
    """200 {} whether or not there was one (Mona asks again and again otherwise)."""
    await push.unsubscribe(request.app.state.instance, await _token_id(request))
    return JSON({})
