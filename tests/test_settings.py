import pytest

from collector.errors import ConfigError
from collector.settings import Batching, Limits, Settings, from_env


def test_defaults_without_environment() -> None:
    settings = from_env({})
    assert settings == Settings()
    assert settings.embedded
    assert settings.base_url == "http://localhost:8000"


def test_environment_and_flags_with_flags_winning() -> None:
    env = {
        "FOOTFALL_DATA": "/srv/ff",
        "FOOTFALL_PORT": "9000",
        "FOOTFALL_MAX_ROWS": "500",
        "FOOTFALL_MAX_EVENTS_PER_BATCH": "50",
        "FOOTFALL_CLICKHOUSE_URL": "http://ch:8123/analytics",
    }
    settings = from_env(env, port=9100)
    assert settings.data_dir == "/srv/ff"
    assert settings.port == 9100
    assert settings.batching == Batching(max_rows=500)
    assert settings.limits == Limits(max_events_per_batch=50)
    assert not settings.embedded


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"FOOTFALL_PORT": "eighty"}, "invalid value for port (FOOTFALL_PORT or --port)"),
        ({"FOOTFALL_PORT": "70000"}, "<= 65535"),
        ({"FOOTFALL_MAX_ROWS": "0"}, "invalid value for max_rows (FOOTFALL_MAX_ROWS or --max-rows)"),
        ({"FOOTFALL_DATABASE": "foot; DROP"}, "invalid value for database"),
        ({"FOOTFALL_WORKERS": "-2"}, "invalid value for workers"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        from_env(env)


def test_with_changes_keeps_the_rest() -> None:
    settings = from_env({"FOOTFALL_MAX_DELAY_MS": "50"}).with_changes(port=0, max_rows=7)
    assert (settings.port, settings.batching.max_rows, settings.batching.max_delay_ms) == (0, 7, 50)


def test_public_url_shapes_snippet_tags() -> None:
    assert Settings(public_url="https://t.shop.example/").base_url == "https://t.shop.example"
    assert Settings(host="10.0.0.5", port=81).base_url == "http://10.0.0.5:81"
