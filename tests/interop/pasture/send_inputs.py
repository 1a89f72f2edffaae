"""Send every fediverse-pasture-inputs example to a target actor's inbox, and record the answers.

Runs in the pasture virtual environment, in the folder holding pasture's data.toml, while the
pasture app (verify_actor_app.py) serves that data's application actor at SENDER_BASE/actor:
the target fetches the key it verifies our signatures with from there.

    python send_inputs.py TARGET_ACTOR_URI SENDER_BASE OUT.json

Each example (a dict of properties: odd HTML, missing ids, unusual attachments, ...) is merged
into pasture's base Note and sent as a signed Create through pasture's own ActivitySender.send,
as pasture does when it builds its support tables. ActivitySender.send swallows 4xx answers, so
the signing client it uses is wrapped to record the status of every POST.
Writes a JSON list: one {"input", "n", "status", "object_id", "type"} per example, where status
is the HTTP status, or a short description of a transport failure, and type the object's type.
"""

import asyncio
import json
import sys

import aiohttp
from fediverse_pasture.one_actor import bovine_actor_and_session
from fediverse_pasture.runner import ActivitySender
from fediverse_pasture_inputs import available


class Recording:
    """A BovineActor stand-in that records what each POST was answered with."""

    def __init__(self, actor) -> None:
        self.actor = actor
        self.status = None

    async def get(self, *args, **kwargs):
        return await self.actor.get(*args, **kwargs)

    async def post(self, target, data):
        try:
            response = await self.actor.post(target, data)
        except aiohttp.ClientResponseError as exc:
            self.status = exc.status
            raise
        self.status = response.status
        return response


async def main(target: str, sender_base: str, out: str) -> None:
    results = []
    async with bovine_actor_and_session(sender_base) as (bovine_actor, actor_object, _session):
        recording = Recording(bovine_actor)
        sender = ActivitySender.for_actor(bovine_actor, actor_object)
        sender.bovine_actor = recording
        for name, inputs in sorted(available.items()):
            for number, example in enumerate(inputs.examples):
                sender.init_create_note(lambda note: {**note, **example})
                recording.status = None
                try:
                    await asyncio.wait_for(sender.send(target), timeout=30)
                    status = recording.status if recording.status is not None else "not sent"
                except Exception as exc:  # noqa: BLE001 - a transport failure is a result here
                    status = f"{type(exc).__name__}: {exc}"[:200]
                results.append({"input": name, "n": number, "status": status,
                                "object_id": sender.object_id, "type": sender.note.get("type")})
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=1)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
