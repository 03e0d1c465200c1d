"""The read API described as OpenAPI 3.1 (GET /api/v1/openapi.json), built from the reports' parameter
Structs, so the spec and the checks cannot drift apart."""

from typing import Any

import msgspec

from collector import __version__
from collector.reports.answers import REPORTS
from collector.reports.heatmap_layers import LayersQuery
from collector.reports.live import LiveQuery
from collector.reports.traffic import TRAFFIC

ERRORS = {
    "401": {"description": "no read key, or not this site's (`missing_read_key`, `unknown_read_key`)"},
    "422": {"description": "a bad parameter, named in `detail` (`invalid_parameter`)"},
}


def parameters(kind: type[msgspec.Struct]) -> list[dict[str, Any]]:
    _, components = msgspec.json.schema_components([kind], ref_template="#/components/schemas/{name}")
    properties = components[kind.__name__]["properties"]
    required = set(components[kind.__name__].get("required", ()))
    out = []
    for name, prop in properties.items():
        description = prop.pop("description", "")
        parameter = {"name": name, "in": "query", "required": name in required, "description": description}
        out.append({**parameter, "schema": prop})
    return out


def _answers() -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Response schemas of the reports that declare their answer type (Structs), and their components."""
    kinds = [answer for (_, _, _, answer) in TRAFFIC.values()]
    refs, components = msgspec.json.schema_components(kinds, ref_template="#/components/schemas/{name}")
    site = {"type": "object", "properties": {"site": {"type": "string"}}, "required": ["site"]}
    schemas = {name: {"allOf": [site, ref]} for name, ref in zip(TRAFFIC, refs, strict=True)}
    return schemas, components


def _snapshot_paths() -> dict[str, Any]:
    """The heatmap backdrops (collector/heatmaps/answers.py), which the reports cannot import: by hand."""
    return {
        "/api/v1/snapshots": {
            "get": {
                "summary": "A page's DOM snapshots (heatmap backdrops) at one width bucket, newest first.",
                "parameters": [
                    {
                        "name": "page",
                        "in": "query",
                        "required": True,
                        "description": "a page key or a URL",
                        "schema": {"type": "string", "minLength": 1, "maxLength": 4096},
                    },
                    {
                        "name": "width",
                        "in": "query",
                        "required": False,
                        "description": "a width bucket; 0 or absent: the one with the most versions",
                        "schema": {"type": "integer", "minimum": 0},
                    },
                ],
                "responses": {"200": {"description": "docs/api.md#snapshots"}, **ERRORS},
            }
        },
        "/api/v1/snapshots/{snapshot_id}": {
            "get": {
                "summary": "One snapshot with its sanitised HTML, for a sandboxed srcdoc iframe.",
                "parameters": [
                    {"name": "snapshot_id", "in": "path", "required": True, "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": {"description": "docs/api.md#snapshots"},
                    "404": {"description": "no such snapshot for this site (`not_found`)"},
                    **ERRORS,
                },
            }
        },
    }


def spec() -> dict[str, Any]:
    answers, schemas = _answers()
    paths: dict[str, Any] = {
        "/api/v1/events": {
            "get": {
                "summary": "The newest raw events (did my event arrive?).",
                "parameters": [
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10000}},
                    {"name": "type", "in": "query", "schema": {"type": "string"}},
                    {"name": "name", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "person",
                        "in": "query",
                        "description": "a user id or anonymous id",
                        "schema": {"type": "string"},
                    },
                    {"name": "since", "in": "query", "schema": {"type": "string", "format": "date"}},
                    {"name": "until", "in": "query", "schema": {"type": "string", "format": "date"}},
                ],
                "responses": {"200": {"description": "events"}, **ERRORS},
            }
        }
    }
    paths["/api/v1/live"] = {
        "get": {
            "summary": "The last events as they arrived, samples of what was dropped and why, counters, ingest health.",
            "parameters": parameters(LiveQuery),
            "responses": {"200": {"description": "docs/api.md#live"}, **ERRORS},
        }
    }
    paths.update(_snapshot_paths())
    paths["/api/v1/heatmap/layers"] = {
        "get": {
            "summary": "Everything the heatmap page draws for one page at one width (docs/heatmaps.md).",
            "description": "Also takes a live overlay token (ffo_...) as its Bearer; CORS for the site's origins.",
            "parameters": parameters(LayersQuery),
            "responses": {"200": {"description": "docs/api.md#heatmaplayers-and-heatmappng"}, **ERRORS},
        }
    }
    for name, (_, kind, summary) in REPORTS.items():
        ok: dict[str, Any] = {"description": f"docs/api.md#{name}"}
        if name in answers:
            ok["content"] = {"application/json": {"schema": answers[name]}}
        paths[f"/api/v1/{name}"] = {
            "get": {
                "summary": summary,
                "parameters": parameters(kind),
                "responses": {"200": ok, **ERRORS},
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "footfall read API", "version": __version__},
        "components": {"schemas": schemas, "securitySchemes": {"readKey": {"type": "http", "scheme": "bearer"}}},
        "security": [{"readKey": []}],
        "paths": paths,
    }
