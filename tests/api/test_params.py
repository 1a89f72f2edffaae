"""Rails-style brackets as apps send them in query strings and forms."""

from __future__ import annotations

from smallfedi.api.params import _insert


def parsed(pairs: list[tuple[str, str]]) -> dict:
    data: dict = {}
    for key, value in pairs:
        _insert(data, key, value)
    return data


def test_brackets():
    assert parsed([("media_ids[]", "1"), ("media_ids[]", "2")]) == {"media_ids": ["1", "2"]}
    assert parsed([("poll[options][]", "a"), ("poll[options][]", "b"), ("poll[expires_in]", "60")]) == \
        {"poll": {"options": ["a", "b"], "expires_in": "60"}}
    assert parsed([("fields_attributes[0][name]", "n"), ("fields_attributes[0][value]", "v")]) == \
        {"fields_attributes": {"0": {"name": "n", "value": "v"}}}


def test_a_list_of_objects_groups_as_rails_does():
    pairs = [("media_attributes[][id]", "1"), ("media_attributes[][description]", "Cat"),
             ("media_attributes[][id]", "2"), ("media_attributes[][focus]", "0,0")]
    assert parsed(pairs) == {"media_attributes": [{"id": "1", "description": "Cat"}, {"id": "2", "focus": "0,0"}]}
