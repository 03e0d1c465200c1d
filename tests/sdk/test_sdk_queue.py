"""A full queue does what its policy says, and says so."""

import footfall
from faultserver import failing_for, sink


def stuck_client(url: str, policy: str, drops: list[tuple[str, int]]) -> footfall.Client:
    return footfall.Client(
        "ffw_test",
        host=url,
        queue=footfall.QueueLimit(max_bytes=100 * 400, policy=policy, block_timeout_s=0.05),  # type: ignore[arg-type]
        batching=footfall.Batching(max_events=100, interval_s=0.01),
        retry=footfall.Retry(base_s=5, cap_s=5, budget_s=60),
        senders=1,
        callbacks=footfall.Callbacks(on_drop=lambda reason, n: drops.append((reason, n))),
    )


def test_each_policy_drops_what_it_says_and_counts_it() -> None:
    for policy in ("drop_newest", "drop_oldest", "block"):
        drops: list[tuple[str, int]] = []
        with sink(failing_for(3600, status=503)) as server:
            c = stuck_client(server.url, policy, drops)
            for i in range(500):
                c.track("e", {"i": i})
            stats = c.stats()
            assert stats.dropped.get("queue_full", 0) >= 200, policy
            assert sum(n for reason, n in drops if reason == "queue_full") == stats.dropped["queue_full"]
            kept = [e["properties"]["i"] for e in list(c._pipeline.events)]
            if policy == "drop_oldest":
                assert kept[-1] == 499  # the newest are kept
            else:
                assert 499 not in kept
            c.shutdown(timeout=0.5)


def test_drops_are_reported_to_the_collector_with_the_next_batch() -> None:
    with sink() as server:
        c = footfall.Client("ffw_test", host=server.url, consent={"analytics": False})
        c.track("e")
        c.identify("u1")
        c.shutdown(timeout=5)
        assert server.bodies == []
        c2 = footfall.Client("ffw_test", host=server.url, queue=footfall.QueueLimit(max_bytes=1, policy="drop_newest"))
        c2._pipeline.drop("queue_full", 3)
        c2.track("e")
        c2.shutdown(timeout=10)
        assert server.bodies[0]["context"]["sdk_dropped"] == {"queue_full": 3}
