"""The people endpoints in the read API's OpenAPI spec (GET /api/v1/openapi.json), from their Structs."""

from typing import Any

import msgspec

from collector.people.listing import MAX_TRAIT_FILTERS, PeopleQuery
from collector.people.shapes import PeopleAnswer, Profile, Timeline
from collector.reports.openapi import ERRORS, parameters


def add_paths(spec: dict[str, Any]) -> None:
    """Profiles and the people list, with their answers' schemas, added to the read API's spec."""
    schemas = spec["components"]["schemas"]
    refs, components = msgspec.json.schema_components(
        [PeopleAnswer, Profile, Timeline], ref_template="#/components/schemas/{name}"
    )
    if clash := {n for n in schemas.keys() & components.keys() if schemas[n] != components[n]}:
        raise RuntimeError(f"two answer types share the schema names {sorted(clash)}")
    schemas.update(components)
    site = {"type": "object", "properties": {"site": {"type": "string"}}, "required": ["site"]}
    people_ref, profile_ref, timeline_ref = ({"allOf": [site, ref]} for ref in refs)
    person_id = {
        "name": "person_id",
        "in": "path",
        "required": True,
        "description": "any of the person's ids: the user id or one of their anonymous ids",
        "schema": {"type": "string", "minLength": 1, "maxLength": 256},
    }
    trait_filter = {
        "name": "trait.<key>",
        "in": "query",
        "required": False,
        "description": f"people whose trait <key> has this value ('*': any value); up to {MAX_TRAIT_FILTERS}",
        "schema": {"type": "string", "maxLength": 1000},
    }
    not_found = {"404": {"description": "no activity stored for that id (`not_found`)"}}
    spec["paths"] |= {
        "/api/v1/people": {
            "get": {
                "summary": "People filtered on traits, events done or not, last seen and revenue; paged JSON or CSV.",
                "parameters": [*parameters(PeopleQuery), trait_filter],
                "responses": {
                    "200": {
                        "description": "docs/api.md#people (format=csv: the next page's cursor in X-Next-Cursor)",
                        "content": {
                            "application/json": {"schema": people_ref},
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    **ERRORS,
                },
            }
        },
        "/api/v1/people/{person_id}": {
            "get": {
                "summary": "A person's profile: ids, activity, first touch, events, pages, orders, consent, traits.",
                "parameters": [person_id],
                "responses": {
                    "200": {
                        "description": "docs/api.md#people",
                        "content": {"application/json": {"schema": profile_ref}},
                    },
                    **not_found,
                    **ERRORS,
                },
            }
        },
        "/api/v1/people/{person_id}/timeline": {
            "get": {
                "summary": "A person's events, newest first, a page at a time.",
                "parameters": [
                    person_id,
                    {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}},
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 500},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "docs/api.md#people",
                        "content": {"application/json": {"schema": timeline_ref}},
                    },
                    **ERRORS,
                },
            }
        },
    }
