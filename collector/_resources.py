"""Where the files shipped beside the code (SQL, snippet source) are found.

In a wheel they sit inside the package (see pyproject's force-include); in a source checkout or an
editable install they sit at the repository's top level.
"""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    packaged = _PACKAGE / name
    if packaged.is_dir():
        return packaged
    checkout = _PACKAGE.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"footfall is installed without its {name}/ folder (looked in {packaged})")
