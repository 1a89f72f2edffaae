from datetime import datetime, timezone

from smallfedi.ids import SEQUENCE_BITS, IdGenerator, id_for_time, id_to_millis


def test_ids_strictly_increase_over_many_calls():
    gen = IdGenerator()
    ids = [gen.next() for _ in range(200_000)]  # far more than one millisecond's worth
    assert all(b > a for a, b in zip(ids, ids[1:]))
    assert all(0 < i < 2**63 for i in ids)


def test_ids_survive_a_clock_stepping_back():
    now = [1_700_000_000.0]
    gen = IdGenerator(clock=lambda: now[0])
    first = gen.next()
    now[0] -= 3600  # NTP correction
    assert gen.next() > first


def test_ids_carry_their_time_and_respect_a_floor():
    gen = IdGenerator(clock=lambda: 1_700_000_000.123)
    value = gen.next()
    assert id_to_millis(value) == 1_700_000_000_123
    gen.bump(value + 10_000)
    assert gen.next() > value + 10_000


def test_remote_ids_sort_by_published_time():
    early = id_for_time(datetime(2024, 1, 1, tzinfo=timezone.utc))
    late = id_for_time(datetime(2024, 1, 1, 0, 0, 0, 1000, tzinfo=timezone.utc))
    assert early >> SEQUENCE_BITS < late >> SEQUENCE_BITS
    assert early < late
