import collector


def test_the_public_api_is_what_we_promise() -> None:
    assert sorted(collector.__all__) == ["Batching", "Limits", "Settings", "__version__", "create_app"]
    for name in collector.__all__:
        assert hasattr(collector, name)
