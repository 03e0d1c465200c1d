"""Bytes of the generated browser snippet, against its budget and the peers' trackers.

    .venv/bin/python benchmarks/snippet_size.py              # footfall's profiles and the peers (npm)
    .venv/bin/python benchmarks/snippet_size.py --no-peers   # footfall only (what the test suite runs)
    .venv/bin/python benchmarks/snippet_size.py --markdown

Sizes are those of the script as served (rendered for a site, minified), raw and `gzip -9`, plus
brotli 11. Profiles: (a) pageviews + custom events, every other feature off; (b) every feature on, with
opt-in consent, hash routes, kept parameters and masking selectors (the largest script a site can get);
and the default settings of a new site. Exit status 1 when a budgeted profile is over its budget.

Peers come from the npm registry through `npm pack` (skipped with a note when npm or the registry is
not there): posthog-js `dist/array.js` (what PostHog's snippet loads), clarity-js
`build/clarity.min.js`, and Plausible's `@plausible-analytics/tracker` `plausible.js`.
"""

import argparse
import gzip
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import brotli

from collector.server.snippet import render
from collector.sites import SnippetSettings

# What a real site's script carries: a write key of the usual length, an endpoint on its own host.
KEY = "ffw_NxpOfPEDvMYy142lTgAOOw"
ENDPOINT = "https://footfall.example.com/v1/batch"

PROFILES: dict[str, tuple[str, SnippetSettings, int | None]] = {
    "a": (
        "pageviews + custom events",
        SnippetSettings(
            clicks=False,
            moves=False,
            scroll=False,
            rage=False,
            dead=False,
            identify=False,
            offline=False,
            compress=False,
        ),
        1000,
    ),
    "b": (
        "every feature on",
        SnippetSettings(consent="opt-in", hash_routes=True, keep_params=("q", "page"), mask=(".account",)),
        4000,
    ),
    "default": ("a new site's defaults", SnippetSettings(), None),
}

PEERS = {
    "posthog-js dist/array.js": ("posthog-js", "package/dist/array.js"),
    "clarity-js build/clarity.min.js": ("clarity-js", "package/build/clarity.min.js"),
    "@plausible-analytics/tracker plausible.js": ("@plausible-analytics/tracker", "package/plausible.js"),
}


@dataclass(frozen=True)
class Size:
    raw: int
    gzip: int
    brotli: int


def measure(body: bytes) -> Size:
    return Size(len(body), len(gzip.compress(body, compresslevel=9, mtime=0)), len(brotli.compress(body, quality=11)))


def footfall_sizes() -> dict[str, Size]:
    return {name: measure(render(KEY, ENDPOINT, settings).body) for name, (_, settings, _) in PROFILES.items()}


def peer_sizes(timeout_s: float = 120) -> dict[str, Size | str]:
    npm = shutil.which("npm")
    if npm is None:
        return dict.fromkeys(PEERS, "npm not installed")
    found: dict[str, Size | str] = {}
    with tempfile.TemporaryDirectory() as folder:
        for label, (package, member) in PEERS.items():
            try:
                packed = subprocess.run(
                    [npm, "pack", package, "--silent", "--pack-destination", folder],
                    capture_output=True,
                    text=True,
                    timeout=timeout_s,
                    check=True,
                )
                tarball = Path(folder) / packed.stdout.strip().splitlines()[-1]
                with tarfile.open(tarball) as tar:
                    extracted = tar.extractfile(member)
                    assert extracted is not None
                    found[label] = measure(extracted.read())
                version = tarball.stem.rsplit("-", 1)[-1]
                found[f"{label} ({version})"] = found.pop(label)
            except (subprocess.SubprocessError, OSError, KeyError, IndexError, AssertionError) as exc:
                found[label] = f"unreachable ({type(exc).__name__})"
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-peers", action="store_true", help="skip the npm comparison")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)

    rows: list[tuple[str, str, str, str, str]] = []
    over = []
    ours = footfall_sizes()
    for name, size in ours.items():
        label, _, budget = PROFILES[name]
        verdict = "" if budget is None else ("ok" if size.gzip <= budget else "OVER")
        if verdict == "OVER":
            over.append(name)
        budget_text = "" if budget is None else f"≤ {budget:,} {verdict}"
        rows.append((f"footfall ({name}) {label}", f"{size.raw:,}", f"{size.gzip:,}", f"{size.brotli:,}", budget_text))
    if not args.no_peers:
        for label, peer in peer_sizes().items():
            if isinstance(peer, str):
                rows.append((label, peer, "", "", ""))
            else:
                ratio = f"{peer.gzip / ours['a'].gzip:.1f}x (a), {peer.gzip / ours['b'].gzip:.1f}x (b)"
                rows.append((label, f"{peer.raw:,}", f"{peer.gzip:,}", f"{peer.brotli:,}", ratio))

    header = ("script", "raw B", "gzip -9 B", "brotli 11 B", "budget / vs footfall")
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|---|---:|---:|---:|---|")
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            print(
                "  ".join(
                    cell.ljust(w) if i in (0, 4) else cell.rjust(w)
                    for i, (cell, w) in enumerate(zip(row, widths, strict=True))
                )
            )
    if over:
        print(f"over budget: {', '.join(over)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
