"""The tree reads as the event's path, and imports follow it (docs/architecture.md draws both).

The shared modules at the top of `collector/` import nothing of the stages; `storage/` knows no stage
above it; `ingest/`, `enrich/` and `reports/` use storage and the shared modules but never each other
(what two of them need lives in a shared module, and `server/` hands an event from one to the next);
`server/` composes the stages; the CLI may use everything. A new package must be given its place here.
"""

import ast
from pathlib import Path

import pytest

import collector

ROOT = Path(collector.__file__).parent
SHARED = "shared"
STAGES = ("ingest", "enrich", "reports")
# What each part of the tree may import, besides itself.
ALLOWED: dict[str, set[str]] = {
    SHARED: set(),
    "storage": {SHARED},
    **{stage: {SHARED, "storage"} for stage in STAGES},
    # Capabilities over the stored data: accounts (users, sessions, shares) keep to the store; the
    # dashboard draws the reports for an account.
    "accounts": {SHARED, "storage"},
    # Heatmap backdrops (snapshots, their capture) keep to the store, the reports' page keys, accounts' signer.
    "heatmaps": {SHARED, "storage", "reports", "accounts"},
    "dashboard": {SHARED, "storage", "reports", "accounts", "heatmaps"},
    # People (profiles, the people list) read the person-keyed rollups, with the reports' parameters.
    "people": {SHARED, "storage", "reports"},
    "server": {SHARED, "storage", *STAGES, "accounts", "dashboard", "heatmaps", "people"},
    "cli": {SHARED, "storage", *STAGES, "accounts", "server", "heatmaps", "people"},
    "entry": {
        SHARED,
        "storage",
        *STAGES,
        "accounts",
        "dashboard",
        "heatmaps",
        "people",
        "server",
        "cli",
    },  # collector/__init__.py, __main__.py
}


def part_of(module: str) -> str:
    """The part of the tree a dotted module name (collector.x.y) belongs to."""
    parts = module.split(".")
    assert parts[0] == "collector", module
    if len(parts) == 1 or parts[1] in ("__init__", "__main__"):
        return "entry"
    if (ROOT / parts[1]).is_dir():
        return parts[1]
    return SHARED


def module_name(path: Path) -> str:
    relative = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__" and len(parts) > 2:
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every collector module the file imports, at any depth of the file (lazy imports count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("collector"):
            assert node.level == 0, f"{path}: relative import"
            if node.module != "collector":
                found.add(node.module)
            else:  # from collector import server: the package, not a name in it
                found.update(f"collector.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("collector"))
    return found


def modules() -> list[Path]:
    return sorted(ROOT.rglob("*.py"))


def test_every_package_has_a_place_in_the_path() -> None:
    packages = {path.name for path in ROOT.iterdir() if path.is_dir() and (path / "__init__.py").exists()}
    assert packages <= set(ALLOWED), f"give {sorted(packages - set(ALLOWED))} a place in ALLOWED"
    assert packages >= {"server", "ingest", "enrich", "storage", "reports", "cli"}


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_a_part_above_it(path: Path) -> None:
    here = part_of(module_name(path))
    wrong = sorted(
        target for target in imports_of(path) if (there := part_of(target)) != here and there not in ALLOWED[here]
    )
    assert not wrong, f"{path.relative_to(ROOT)} ({here}) may import only {sorted(ALLOWED[here])}, not {wrong}"


def test_the_rule_catches_what_it_forbids(tmp_path: Path) -> None:
    # The checker itself: reports taking a helper from enrich is refused; from a shared module, allowed.
    assert part_of("collector.enrich.steps") == "enrich"
    assert part_of("collector.privacy") == SHARED
    assert part_of("collector") == "entry"
    assert "enrich" not in ALLOWED["reports"]
    assert SHARED in ALLOWED["reports"]
    source = tmp_path / "x.py"
    source.write_text(
        "from collector.enrich.steps import enrich\nfrom collector import wire\n"
        "def f():\n    import collector.storage.sql\n"
    )
    assert imports_of(source) == {"collector.enrich.steps", "collector.wire", "collector.storage.sql"}


def test_modules_stay_small() -> None:
    # STYLE.md: under ~400 lines, one concern each.
    long = {str(p.relative_to(ROOT)): n for p in modules() if (n := len(p.read_text().splitlines())) > 420}
    assert not long
