"""REST sObject endpoints: describe, record CRUD by Id, upsert and read by external id, limits.

Single-record errors are 400 (404 for unknown or deleted records) with the REST body
`[{"message", "errorCode", "fields"}]`.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from emulator import ids, rest_query
from emulator.describe import describe, global_describe, object_summary
from emulator.dml import Plan, Row, apply
from emulator.http import Call, api, api_error, not_found, sf_json
from emulator.jsonrows import record_json, to_row
from emulator.schema import FieldDef, ObjectDef


def _obj(call: Call) -> ObjectDef | None:
    return call.org.schema.get(call.params["sobject"])


def _dml(call: Call, plan: Plan, row: Row) -> Row:
    rng = call.org.faults.derived()
    apply(call.org.store, plan, [row], rng)
    return row


def _row_error(row: Row) -> Response:
    assert row.error is not None  # noqa: S101 - only called on failed rows
    status = 404 if row.error.code in {"ENTITY_IS_DELETED", "NOT_FOUND"} else 400
    return api_error(status, row.error.code, row.error.message, list(row.error.fields))


def _body(call: Call) -> dict[str, object] | Response:
    try:
        body = call.json()
    except ValueError:
        return api_error(400, "JSON_PARSER_ERROR", "The request body is not valid JSON")
    if not isinstance(body, dict):
        return api_error(400, "JSON_PARSER_ERROR", "Expected a JSON object")
    return body


def sobjects(call: Call) -> Response:
    """GET /sobjects: the global describe."""
    return sf_json(global_describe(call.org.schema, call.version))


def sobject(call: Call) -> Response:
    """GET /sobjects/{name} (summary) or POST /sobjects/{name} (create one record)."""
    obj = _obj(call)
    if obj is None:
        return not_found()
    if call.method == "GET":
        return sf_json({"objectDescribe": object_summary(obj, call.version), "recentItems": []})
    body = _body(call)
    if isinstance(body, Response):
        return body
    row = _dml(call, Plan(call.org.schema, obj, "insert"), to_row(call.org.schema, obj, body))
    if row.error:
        return _row_error(row)
    location = f"/services/data/v{call.version}/sobjects/{obj.name}/{row.record_id}"
    return sf_json(
        {"id": row.record_id, "success": True, "errors": []}, 201, {"Location": location}
    )


def describe_one(call: Call) -> Response:
    """GET /sobjects/{name}/describe."""
    obj = _obj(call)
    if obj is None:
        return not_found()
    return sf_json(describe(call.org.schema, obj, call.version))


def _fields(call: Call, obj: ObjectDef) -> list[str] | Response | None:
    wanted = call.query.get("fields")
    if not wanted:
        return None
    names = []
    for name in wanted.split(","):
        fld = obj.field(name.strip())
        if fld is None:
            return api_error(
                400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}"
            )
        names.append(fld.name)
    return names


def record(call: Call) -> Response:
    """GET, PATCH or DELETE /sobjects/{name}/{id}."""
    obj = _obj(call)
    record_id = ids.normalize(call.params["record_id"])
    if obj is None or record_id is None:
        return not_found()
    if call.method == "GET":
        return _read(call, obj, record_id)
    if call.method == "DELETE":
        row = _dml(call, Plan(call.org.schema, obj, "delete"), Row({"Id": record_id}))
        return _row_error(row) if row.error else Response(status_code=204)
    body = _body(call)
    if isinstance(body, Response):
        return body
    row = to_row(call.org.schema, obj, body)
    row.values["Id"] = record_id
    row = _dml(call, Plan(call.org.schema, obj, "update"), row)
    return _row_error(row) if row.error else Response(status_code=204)


def _read(call: Call, obj: ObjectDef, record_id: str) -> Response:
    stored = call.org.store.get(obj, record_id)
    if stored is None or stored["IsDeleted"]:
        return not_found()
    fields = _fields(call, obj)
    if isinstance(fields, Response):
        return fields
    return sf_json(record_json(obj, call.version, stored, fields))


def _key_field(obj: ObjectDef, name: str) -> FieldDef | None:
    fld = obj.field(name)
    return fld if fld is not None and fld.id_lookup else None


def by_key(call: Call) -> Response:
    """GET or PATCH (upsert) /sobjects/{name}/{externalIdField}/{value}."""
    obj = _obj(call)
    fld = _key_field(obj, call.params["field"]) if obj else None
    if obj is None or fld is None:
        return not_found()
    value = call.params["value"]
    matches = call.org.store.ids_by_value(obj, fld.name, [value]).get(value.lower(), [])
    if len(matches) > 1:
        urls = [f"/services/data/v{call.version}/sobjects/{obj.name}/{i}" for i in matches]
        return sf_json(urls, 300)
    if call.method == "GET":
        return _read(call, obj, matches[0]) if matches else not_found()
    if call.method == "DELETE":
        if not matches:
            return not_found()
        row = _dml(call, Plan(call.org.schema, obj, "delete"), Row({"Id": matches[0]}))
        return _row_error(row) if row.error else Response(status_code=204)
    return _upsert(call, obj, fld, value)


def _upsert(call: Call, obj: ObjectDef, fld: FieldDef, value: str) -> Response:
    body = _body(call)
    if isinstance(body, Response):
        return body
    row = to_row(call.org.schema, obj, body)
    row.values.setdefault(fld.name, value)
    row = _dml(call, Plan(call.org.schema, obj, "upsert", fld), row)
    if row.error:
        return _row_error(row)
    result: dict[str, object] = {
        "id": row.record_id,
        "success": True,
        "errors": [],
        "created": row.created,
    }
    return sf_json(result, 201 if row.created else 200)


def limits(call: Call) -> Response:
    """GET /limits."""
    return sf_json(call.org.limits.snapshot())


def routes(prefix: str) -> list[Route]:
    """The REST routes (with trailing-slash twins)."""
    table = [
        ("/sobjects", "describe", sobjects, ["GET"]),
        ("/sobjects/{sobject}", "sobject", sobject, ["GET", "POST"]),
        ("/sobjects/{sobject}/describe", "describe", describe_one, ["GET"]),
        ("/sobjects/{sobject}/{record_id}", "sobject", record, ["GET", "PATCH", "DELETE"]),
        ("/sobjects/{sobject}/{field}/{value}", "sobject", by_key, ["GET", "PATCH", "DELETE"]),
        ("/limits", "limits", limits, ["GET"]),
        ("/query", "query", rest_query.first_page, ["GET"]),
        ("/queryAll", "query", rest_query.first_page, ["GET"]),
        ("/query/{locator}", "query", rest_query.next_page, ["GET"]),
        ("/queryAll/{locator}", "query", rest_query.next_page, ["GET"]),
    ]
    routes: list[Route] = []
    for path, endpoint_class, handler, methods in table:
        endpoint = api(endpoint_class, handler)
        routes += [
            Route(prefix + path, endpoint, methods=methods),
            Route(prefix + path + "/", endpoint, methods=methods),
        ]
    return routes
