"""fork(): the child starts fresh and never resends what the parent had queued; both arrive once."""

import json
import os

import footfall
from faultserver import sink


def test_parent_and_child_events_all_arrive_once() -> None:
    with sink() as server:
        client = footfall.Client("ffw_test", host=server.url, batching=footfall.Batching(interval_s=60))
        for i in range(30):
            client.track("before_fork", {"i": i})  # queued, not yet sent, when the process forks
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child
            os.close(read)
            try:
                for i in range(20):
                    client.track("in_child", {"i": i})
                result = client.shutdown(timeout=10)
                os.write(write, json.dumps([result.sent, client.stats().sent]).encode())
            finally:
                os._exit(0)
        os.close(write)
        for i in range(10):
            client.track("after_fork", {"i": i})
        parent = client.shutdown(timeout=10)
        _, status = os.waitpid(pid, 0)
        child = json.loads(os.read(read, 1000))
        os.close(read)
        assert status == 0
        assert child == [20, 20]
        assert parent.sent == 40
        names = [e["name"] for body in server.bodies for e in body["events"]]
        assert sorted(set(names)) == ["after_fork", "before_fork", "in_child"]
        assert (names.count("before_fork"), names.count("in_child"), names.count("after_fork")) == (30, 20, 10)
        assert len(server.unique()) == len(server.ids) == 60
