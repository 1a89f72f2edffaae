"""The owner's social pages: notifications, following people, remote profiles and posts,
and the like, boost and follow buttons (plain forms that redirect back)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from smallfedi.core import following, interactions, timelines
from smallfedi.core.lookup import lookup
from smallfedi.core.errors import DomainError, NotFound
from smallfedi.core.models import Account
from smallfedi.store import accounts as accounts_store
from smallfedi.web.auth import owner_only
from smallfedi.web.owner import read_form, safe_next, see_other, text_field
from smallfedi.web.public import id_param, render_thread
from smallfedi.web.render import render


def _path_id(request: Request, name: str) -> int:
    raw = request.path_params[name]
    if not raw.isdigit() or len(raw) > 19:
        raise NotFound("There is nothing at this address.")
    return int(raw)


async def _account(request: Request) -> Account:
    row = await accounts_store.get(request.app.state.instance.db, _path_id(request, "account_id"))
    if row is None:
        raise NotFound("There is no such account here.")
    return Account.from_row(row)


@owner_only
async def notifications(request: Request) -> Response:
    inst = request.app.state.instance
    page = await timelines.notifications(inst, max_id=id_param(request, "max_id"))
    requests = await following.list_followers(inst, accepted=False)
    return render(request, "notifications.html", {"page": page, "requests": [a for _, a in requests]})


@owner_only
async def status_page(request: Request) -> Response:
    """Any post we hold (a remote one too), with its thread, for the owner."""
    return await render_thread(request, _path_id(request, "status_id"), True)


@owner_only
async def status_history(request: Request) -> Response:
    from smallfedi.core import reading

    inst = request.app.state.instance
    status_id = _path_id(request, "status_id")
    status = await reading.visible_status(inst, status_id, True)
    versions = await reading.history(inst, status_id, True)
    return render(request, "history.html", {"status": status, "versions": list(reversed(versions))})


ACTIONS = {
    "favourite": interactions.favourite,
    "unfavourite": interactions.unfavourite,
    "reblog": interactions.reblog,
    "unreblog": interactions.unreblog,
}


@owner_only
async def status_action(request: Request) -> Response:
    form = await read_form(request)
    action = ACTIONS.get(request.path_params["action"])
    if action is None:
        raise NotFound("There is nothing at this address.")
    await action(request.app.state.instance, _path_id(request, "status_id"))
    return see_other(safe_next(text_field(form, "next")))


@owner_only
async def follow_page(request: Request) -> Response:
    return render(request, "follow.html", {"query": request.query_params.get("q", "")})


@owner_only
async def follow(request: Request) -> Response:
    form = await read_form(request)
    query = text_field(form, "query")[:500]
    try:
        account = await following.follow(request.app.state.instance, query)
    except DomainError as exc:
        return render(request, "follow.html", {"query": query, "error": exc.message}, status_code=exc.status)
    return see_other(f"/accounts/{account.id}")


@owner_only
async def account_page(request: Request) -> Response:
    inst = request.app.state.instance
    account = await _account(request)
    if account.local:
        return see_other(inst.profile_url())
    page = await timelines.account_statuses(inst, account.id, max_id=id_param(request, "max_id"))
    return render(request, "account.html", {"account": account, "page": page,
                                            "relationship": await following.relationship(inst, account.id)})


ACCOUNT_ACTIONS = {
    "follow": lambda inst, account: following.follow_account(inst, account),
    "unfollow": lambda inst, account: following.unfollow(inst, account.id),
    "approve": lambda inst, account: following.approve(inst, account.id),
    "reject": lambda inst, account: following.reject(inst, account.id),
    "block": lambda inst, account: following.block(inst, account.id),
    "unblock": lambda inst, account: following.unblock(inst, account.id),
}


@owner_only
async def account_action(request: Request) -> Response:
    form = await read_form(request)
    action = ACCOUNT_ACTIONS.get(request.path_params["action"])
    if action is None:
        raise NotFound("There is nothing at this address.")
    account = await _account(request)
    await action(request.app.state.instance, account)
    return see_other(safe_next(text_field(form, "next")) if text_field(form, "next") else f"/accounts/{account.id}")


@owner_only
async def followers_page(request: Request) -> Response:
    inst = request.app.state.instance
    rows = await following.list_followers(inst, max_id=id_param(request, "max_id"))
    return render(request, "people.html", {"title": "Followers", "people": rows})


@owner_only
async def following_page(request: Request) -> Response:
    inst = request.app.state.instance
    rows = await following.list_following(inst, max_id=id_param(request, "max_id"))
    return render(request, "people.html", {"title": "Following", "people": rows})


@owner_only
async def authorize_interaction(request: Request) -> Response:
    """Another server's "follow" or "reply" button sent the owner here with a handle or an address."""
    query = request.query_params.get("uri", "")[:2000]
    try:
        found = await lookup(request.app.state.instance, query)
    except DomainError as exc:
        return render(request, "follow.html", {"query": query, "error": exc.message}, status_code=exc.status)
    if isinstance(found, Account):
        return see_other(found.url if found.local else f"/accounts/{found.id}")
    return see_other(f"/statuses/{found.id}")
