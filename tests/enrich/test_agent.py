import pytest

from collector.enrich.agent import MAX_UA_CHARS, Agent, AgentParser

# Real user agents, as browsers, crawlers and tools send them.
CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.109 Safari/537.36"
)
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
FIREFOX_UBUNTU = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
CHROME_LINUX = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
SAFARI_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Safari/605.1.15"
)
CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
EDGE_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91"
)
CHROME_ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.144 Mobile Safari/537.36"
)
CHROME_CUBOT_PHONE = (
    "Mozilla/5.0 (Linux; Android 9; CUBOT P30) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.144 Mobile Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1.2 Mobile/15E148 Safari/604.1"
)
SAFARI_IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.6 Mobile/15E148 Safari/604.1"
)
CHROME_ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.144 Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
GOOGLEBOT_SMARTPHONE = (
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.129 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
)
BINGBOT = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"
GPTBOT = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.2; +https://openai.com/gptbot"
HEADLESS_CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.28 Safari/537.36"
)
PHANTOMJS = "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1"
FACEBOOK_PREVIEW = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"


@pytest.mark.parametrize(
    ("ua", "expected"),
    [
        (
            CHROME_WINDOWS,
            Agent(browser="Chrome", browser_version="120.0", os="Windows", os_version="10", device="desktop"),
        ),
        (
            FIREFOX_WINDOWS,
            Agent(browser="Firefox", browser_version="121.0", os="Windows", os_version="10", device="desktop"),
        ),
        (FIREFOX_UBUNTU, Agent(browser="Firefox", browser_version="121.0", os="Ubuntu", device="desktop")),
        (CHROME_LINUX, Agent(browser="Chrome", browser_version="120.0", os="Linux", device="desktop")),
        (
            SAFARI_MAC,
            Agent(browser="Safari", browser_version="17.1", os="Mac OS X", os_version="10.15", device="desktop"),
        ),
        (
            CHROME_MAC,
            Agent(browser="Chrome", browser_version="120.0", os="Mac OS X", os_version="10.15", device="desktop"),
        ),
        (EDGE_WINDOWS, Agent(browser="Edge", browser_version="120.0", os="Windows", os_version="10", device="desktop")),
        (
            CHROME_ANDROID_PHONE,
            Agent(browser="Chrome Mobile", browser_version="120.0", os="Android", os_version="10", device="mobile"),
        ),
        (
            CHROME_CUBOT_PHONE,
            Agent(browser="Chrome Mobile", browser_version="120.0", os="Android", os_version="9", device="mobile"),
        ),
        (
            SAFARI_IPHONE,
            Agent(browser="Mobile Safari", browser_version="17.1", os="iOS", os_version="17.1", device="mobile"),
        ),
        (
            SAFARI_IPAD,
            Agent(browser="Mobile Safari", browser_version="16.6", os="iOS", os_version="16.6", device="tablet"),
        ),
        (
            CHROME_ANDROID_TABLET,
            Agent(browser="Chrome", browser_version="120.0", os="Android", os_version="13", device="tablet"),
        ),
    ],
)
def test_browsers(ua: str, expected: Agent) -> None:
    assert AgentParser().parse(ua) == expected


@pytest.mark.parametrize(
    ("ua", "browser"),
    [
        (GOOGLEBOT, "Googlebot"),
        (GOOGLEBOT_SMARTPHONE, "Googlebot"),
        (BINGBOT, "bingbot"),
        (GPTBOT, ""),
        (HEADLESS_CHROME, "HeadlessChrome"),
        (PHANTOMJS, "PhantomJS"),
        (FACEBOOK_PREVIEW, "FacebookBot"),
        ("curl/8.4.0", "curl"),
        ("Wget/1.21.4", ""),
        ("python-requests/2.31.0", "Python Requests"),
        ("Python/3.11 aiohttp/3.9.1", ""),
        ("Go-http-client/1.1", "Go-http-client"),
        ("okhttp/4.12.0", ""),
        ("axios/1.6.2", ""),
        ("Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", ""),
        ("Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", ""),
    ],
)
def test_crawlers_tools_and_headless_browsers_are_bots(ua: str, browser: str) -> None:
    agent = AgentParser().parse(ua)
    assert agent.is_bot
    assert agent.device == "bot"
    if browser:
        assert agent.browser == browser


@pytest.mark.parametrize("ua", ["", " ", "\t"])
def test_an_empty_user_agent_is_a_bot(ua: str) -> None:
    assert AgentParser().parse(ua) == Agent(device="bot", is_bot=True)


@pytest.mark.parametrize(
    "ua",
    [CHROME_WINDOWS, SAFARI_IPHONE, CHROME_CUBOT_PHONE, SAFARI_IPAD, EDGE_WINDOWS, CHROME_ANDROID_TABLET],
)
def test_people_are_not_bots(ua: str) -> None:
    assert not AgentParser().parse(ua).is_bot


def test_unknown_agents_are_other() -> None:
    agent = AgentParser().parse("Mozilla/5.0 (Something New; Thing 1.0) Gizmo/1.0")
    assert agent == Agent(device="other")


def test_versions_stop_at_minor() -> None:
    agent = AgentParser().parse(SAFARI_IPHONE)
    assert (agent.browser_version, agent.os_version) == ("17.1", "17.1")


def test_the_cache_counts_hits_and_misses() -> None:
    parser = AgentParser(maxsize=2)
    first = parser.parse(CHROME_WINDOWS)
    assert parser.parse(CHROME_WINDOWS) is first
    assert parser.parse(CHROME_WINDOWS) is first
    assert (parser.hits, parser.misses, parser.size) == (2, 1, 1)
    parser.parse(SAFARI_IPHONE)
    parser.parse(GOOGLEBOT)  # evicts Chrome: the cache is bounded
    assert parser.size == 2
    assert parser.parse(CHROME_WINDOWS) == first
    assert (parser.hits, parser.misses) == (2, 4)
    parser.clear()
    assert parser.size == 0


def test_caches_belong_to_their_parser() -> None:
    one, other = AgentParser(), AgentParser()
    one.parse(CHROME_WINDOWS)
    assert (other.hits, other.misses) == (0, 0)


def test_pathological_user_agents_are_cut_and_never_raise() -> None:
    parser = AgentParser()
    long_ua = CHROME_WINDOWS + " x" * 100_000
    assert parser.parse(long_ua).browser == "Chrome"
    assert parser.parse(long_ua[:MAX_UA_CHARS] + " another tail") is parser.parse(long_ua)
    assert parser.misses == 1
    for odd in ("\x00\x01\x02", "\ud800", "(" * 600, "Mozilla/5.0 (" + ";" * 1000, "🤖" * 300):
        assert isinstance(parser.parse(odd), Agent)
