"""Validation of request bodies against the Graph entity types, with OData's error wording.

Graph rejects a body that does not fit the type with 400 `RequestBodyRead` (unknown property,
wrong JSON node kind, bad enum literal). Read-only properties are accepted and ignored, as
Graph does when a client echoes back an item it read. `@odata.*` annotations (SDKs send
`@odata.type`) are accepted anywhere.
Reference: https://learn.microsoft.com/graph/api/resources/contact and
https://learn.microsoft.com/graph/api/resources/event.
"""

from __future__ import annotations

from collections.abc import Callable

from .errors import body_read_error

Validator = Callable[[object, str], object]

NODE = {dict: "StartObject", list: "StartArray"}


def _node_kind(value: object) -> str:
    return NODE.get(type(value), "PrimitiveValue")


def _unexpected(value: object, expected: str) -> Exception:
    return body_read_error(
        f"An unexpected '{_node_kind(value)}' node was found when reading from the JSON reader. "
        f"A '{expected}' node was expected."
    )


def string(value: object, name: str) -> object:
    """Edm.String (nullable)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        raise _unexpected(value, "PrimitiveValue")
    raise body_read_error(f"Cannot convert a primitive value to the expected type 'Edm.String'. ({name})")


def boolean(value: object, name: str) -> object:
    """Edm.Boolean (nullable)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, dict | list):
        raise _unexpected(value, "PrimitiveValue")
    raise body_read_error(f"Cannot convert the literal '{value}' to the expected type 'Edm.Boolean'.")


def integer(value: object, name: str) -> object:
    """Edm.Int32 (nullable)."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, dict | list):
        raise _unexpected(value, "PrimitiveValue")
    raise body_read_error(f"Cannot convert the literal '{value}' to the expected type 'Edm.Int32'.")


def strings(value: object, name: str) -> object:
    """Collection(Edm.String); null is read as an empty collection."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _unexpected(value, "StartArray")
    for item in value:
        if not isinstance(item, str):
            raise (
                _unexpected(item, "PrimitiveValue")
                if isinstance(item, dict | list)
                else (body_read_error(f"Cannot convert a primitive value to 'Edm.String'. ({name})"))
            )
    return list(value)


def enum(type_name: str, values: tuple[str, ...]) -> Validator:
    """An OData enum: one of `values`, compared case-insensitively and echoed in Graph's case."""
    lookup = {v.lower(): v for v in values}

    def check(value: object, name: str) -> object:
        if value is None:
            return None
        if not isinstance(value, str):
            raise (
                _unexpected(value, "PrimitiveValue")
                if isinstance(value, dict | list)
                else (body_read_error(f"Cannot convert the literal '{value}' to '{type_name}'."))
            )
        if value.lower() not in lookup:
            raise body_read_error(f"Cannot convert the literal '{value}' to the expected type '{type_name}'.")
        return lookup[value.lower()]

    return check


def complex_type(type_name: str, fields: dict[str, Validator]) -> Validator:
    """A complex type: an object whose properties are validated by `fields`."""

    def check(value: object, name: str) -> object:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise _unexpected(value, "StartObject")
        return validate_object(value, fields, type_name)

    return check


def collection(item: Validator) -> Validator:
    """Collection(complex); null is read as empty."""

    def check(value: object, name: str) -> object:
        if value is None:
            return []
        if not isinstance(value, list):
            raise _unexpected(value, "StartArray")
        return [item(v, name) for v in value]

    return check


def ignored(value: object, name: str) -> object:
    """A read-only property: accepted, then dropped by the caller."""
    return IGNORED


IGNORED = object()


def validate_object(body: dict, fields: dict[str, Validator], type_name: str) -> dict:
    """Check every property of `body` against `fields`; return the validated properties."""
    result = {}
    for key, value in body.items():
        if key.startswith("@odata."):
            _check_annotation(key, value)
            continue
        validator = fields.get(key)
        if validator is None:
            raise body_read_error(
                f"The property '{key}' does not exist on type '{type_name}'. Make sure to only "
                "use property names that are defined by the type or mark the type as open type."
            )
        checked = validator(value, key)
        if checked is not IGNORED:
            result[key] = checked
    return result


def _check_annotation(key: str, value: object) -> None:
    if key == "@odata.type" and not (isinstance(value, str) and value.lstrip("#").startswith("microsoft.graph.")):
        raise body_read_error(
            f"A type named '{value}' could not be resolved by the model. When a model is "
            "available, each type name must resolve to a valid type."
        )


def check_entity_type(body: dict, expected: str) -> None:
    """A top-level `@odata.type` must name the entity type the URL addresses."""
    declared = body.get("@odata.type")
    if declared is not None and str(declared).lstrip("#") != expected:
        raise body_read_error(
            f"A resource of type '{declared}' was found in a resource set that otherwise has "
            f"entries of type '{expected}'."
        )


EMAIL_ADDRESS = complex_type("microsoft.graph.emailAddress", {"name": string, "address": string})
PHYSICAL_ADDRESS = complex_type(
    "microsoft.graph.physicalAddress",
    {
        "street": string,
        "city": string,
        "state": string,
        "countryOrRegion": string,
        "postalCode": string,
    },
)
ITEM_BODY = complex_type(
    "microsoft.graph.itemBody",
    {"contentType": enum("microsoft.graph.bodyType", ("text", "html")), "content": string},
)
DATE_TIME_TIME_ZONE = complex_type("microsoft.graph.dateTimeTimeZone", {"dateTime": string, "timeZone": string})
COORDINATES = complex_type(
    "microsoft.graph.outlookGeoCoordinates",
    {
        "accuracy": ignored,
        "altitude": ignored,
        "altitudeAccuracy": ignored,
        "latitude": ignored,
        "longitude": ignored,
    },
)
LOCATION = complex_type(
    "microsoft.graph.location",
    {
        "displayName": string,
        "locationEmailAddress": string,
        "locationUri": string,
        "locationType": enum(
            "microsoft.graph.locationType",
            (
                "default",
                "conferenceRoom",
                "homeAddress",
                "businessAddress",
                "geoCoordinates",
                "streetAddress",
                "hotel",
                "restaurant",
                "localBusiness",
                "postalAddress",
            ),
        ),
        "uniqueId": string,
        "uniqueIdType": string,
        "address": PHYSICAL_ADDRESS,
        "coordinates": COORDINATES,
    },
)
RESPONSE_STATUS = complex_type("microsoft.graph.responseStatus", {"response": string, "time": string})
ATTENDEE = complex_type(
    "microsoft.graph.attendee",
    {
        "type": enum("microsoft.graph.attendeeType", ("required", "optional", "resource")),
        "emailAddress": EMAIL_ADDRESS,
        "status": RESPONSE_STATUS,
        "proposedNewTime": ignored,
    },
)
RECIPIENT = complex_type("microsoft.graph.recipient", {"emailAddress": EMAIL_ADDRESS})
EXTENDED_PROPERTY = complex_type("microsoft.graph.singleValueLegacyExtendedProperty", {"id": string, "value": string})


def recurrence_passthrough(value: object, name: str) -> object:
    """patternedRecurrence is checked in detail by the recurrence module."""
    if value is not None and not isinstance(value, dict):
        raise _unexpected(value, "StartObject")
    return value
