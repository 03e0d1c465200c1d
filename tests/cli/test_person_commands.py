"""`footfall person show`, run as a user runs it: through the running server, and on a stopped store."""

import json
import re
from datetime import timedelta
from pathlib import Path

import httpx
from processes import run, serving
from support import CHROME, NOW, event, iso, wait_until


def test_person_show_prints_a_profile_through_the_server_and_from_a_stopped_store(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with serving(data) as served:
        text = "".join(served.output)
        write_key = re.search(r"write key: (ffw_\S+)", text).group(1)  # type: ignore[union-attr]
        read_key = re.search(r"read key:  (ffr_\S+)", text).group(1)  # type: ignore[union-attr]
        sent = [
            event(
                "pageview",
                url="http://localhost:3000/pricing?utm_source=newsletter",
                anonymous_id="b1",
                ts=iso(NOW - timedelta(minutes=5)),
            ),
            event("identify", user_id="jo", anonymous_id="b1", traits={"email": "jo@example.com", "plan": "pro"}),
            event("track", name="purchase", user_id="jo", properties={"revenue": 42.5, "currency": "eur"}),
        ]
        response = httpx.post(
            f"{served.url}/v1/batch",
            json={"key": write_key, "events": sent},
            headers={"Origin": "http://localhost:3000", "User-Agent": CHROME},
        )
        assert response.status_code == 202, response.text
        auth = {"Authorization": f"Bearer {read_key}"}

        def stored() -> bool:
            answer = httpx.get(f"{served.url}/api/v1/people/b1", headers=auth)
            return answer.status_code == 200 and bool(answer.json()["transactions"])

        wait_until(stored, what="jo's profile")
        shown = run("person", "show", "b1", "--site", "default", "--data", str(data))
        assert shown.returncode == 0, shown.stderr
        assert "through http://" in shown.stderr
        lines = shown.stdout.splitlines()
        assert lines[0] == "jo  (user id; anonymous ids: b1)"
        assert "EUR: 1 orders, 42.50 (average 42.50)" in shown.stdout
        assert "email = jo@example.com" in shown.stdout
        assert "utm newsletter" in shown.stdout
        missing = run("person", "show", "nobody", "--site", "default", "--data", str(data))
        assert missing.returncode == 1
        assert "no person 'nobody' on this site" in missing.stderr
        assert "Traceback" not in missing.stderr
    local = run("person", "show", "jo", "--site", "default", "--data", str(data), "--json")
    assert local.returncode == 0, local.stderr
    profile = json.loads(local.stdout)
    assert (profile["person"], profile["identities"]["anonymous_ids"]) == ("jo", ["b1"])
    assert profile["traits"]["plan"]["value"] == "pro"
    wrong = run("person", "show", "jo", "--site", "nope", "--data", str(data))
    assert (wrong.returncode, "no site named 'nope'" in wrong.stderr) == (1, True)
