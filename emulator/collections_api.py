"""sObject Collections: create, update, upsert by external id and delete, up to 200 records.

A well-formed request answers 200 with one result per record, in request order, even
when records fail. With allOrNone, every check runs first without writing; if any
record fails, nothing is written and the others report ALL_OR_NONE_OPERATION_ROLLED_BACK
(the reference marks that code as inferred; it is the one Salesforce documents for
the allOrNone header).
"""

from __future__ import annotations

from starlette.responses import Response

from emulator import ids
from emulator.dml import Plan, Row, apply
from emulator.http import Call, api_error, not_found, sf_json
from emulator.jsonrows import error_items, to_row
from emulator.schema import FieldDef, ObjectDef
from emulator.values import FieldError

MAX_RECORDS = 200
_ROLLED_BACK = FieldError(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header",
)


class _Refused(Exception):  # noqa: N818 - a control-flow signal carrying the response
    def __init__(self, response: Response) -> None:
        self.response = response


def _too_many() -> _Refused:
    return _Refused(
        api_error(
            400,
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_RECORDS} records into this call",
        )
    )


def _records(call: Call) -> tuple[list[dict[str, object]], bool]:
    try:
        body = call.json()
    except ValueError:
        raise _Refused(
            api_error(400, "JSON_PARSER_ERROR", "The request body is not valid JSON")
        ) from None
    if not isinstance(body, dict):
        raise _Refused(api_error(400, "INVALID_FIELD", "records must be a list of records"))
    records = body.get("records")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise _Refused(api_error(400, "INVALID_FIELD", "records must be a list of records"))
    if len(records) > MAX_RECORDS:
        raise _too_many()
    return records, bool(body.get("allOrNone", False))


def _type_of(call: Call, record: dict[str, object]) -> ObjectDef:
    attributes = record.get("attributes")
    name = attributes.get("type") if isinstance(attributes, dict) else None
    obj = call.org.schema.get(str(name or ""))
    if obj is None:
        raise _Refused(
            api_error(400, "INVALID_TYPE", f"sObject type '{name or ''}' is not supported.")
        )
    return obj


def _run(call: Call, groups: list[tuple[Plan, list[Row]]], *, all_or_none: bool) -> None:
    rng = call.org.faults.derived()
    if all_or_none:
        for plan, rows in groups:
            apply(call.org.store, plan, rows, rng, write=False)
        rows_all = [r for _, rows in groups for r in rows]
        if any(r.error for r in rows_all):
            for row in rows_all:
                row.error = row.error or _ROLLED_BACK
            return
        for _, rows in groups:
            for row in rows:
                row.record_id, row.created = None, False
    for plan, rows in groups:
        apply(call.org.store, plan, rows, rng)


def _results(rows: list[Row], *, upsert: bool) -> Response:
    out = []
    for row in rows:
        item: dict[str, object] = {
            "id": row.record_id if not row.error or not row.created else None,
            "success": row.error is None,
            "errors": error_items(row.error) if row.error else [],
        }
        if upsert and row.error is None:
            item["created"] = row.created
        out.append(item)
    return sf_json(out)


def _write(call: Call, operation: str) -> Response:
    records, all_or_none = _records(call)
    groups: dict[str, tuple[Plan, list[Row]]] = {}
    ordered: list[Row] = []
    for record in records:
        obj = _type_of(call, record)
        row = to_row(call.org.schema, obj, record)
        if operation == "update" and row.values.get("Id") is None and row.error is None:
            row.error = FieldError("MISSING_ARGUMENT", "Id not specified in an update call")
        plan = groups.setdefault(obj.name, (Plan(call.org.schema, obj, operation), []))
        plan[1].append(row)
        ordered.append(row)
    _run(call, list(groups.values()), all_or_none=all_or_none)
    return _results(ordered, upsert=False)


def _upsert(call: Call) -> Response:
    obj = call.org.schema.get(call.params["sobject"])
    fld: FieldDef | None = obj.field(call.params["field"]) if obj else None
    if obj is None or fld is None or not fld.id_lookup:
        return not_found()
    records, all_or_none = _records(call)
    rows = [to_row(call.org.schema, _type_of(call, r), r) for r in records]
    _run(call, [(Plan(call.org.schema, obj, "upsert", fld), rows)], all_or_none=all_or_none)
    return _results(rows, upsert=True)


def _delete(call: Call) -> Response:
    wanted = [i for i in call.query.get("ids", "").split(",") if i]
    if len(wanted) > MAX_RECORDS:
        raise _too_many()
    all_or_none = call.query.get("allOrNone", "false").lower() == "true"
    groups: dict[str, tuple[Plan, list[Row]]] = {}
    ordered: list[Row] = []
    for raw in wanted:
        record_id = ids.normalize(raw)
        obj = call.org.schema.by_prefix(record_id[:3]) if record_id else None
        row = Row({"Id": record_id})
        if obj is None:
            row.error = FieldError("MALFORMED_ID", f"malformed id {raw}")
            ordered.append(row)
            continue
        groups.setdefault(obj.name, (Plan(call.org.schema, obj, "delete"), []))[1].append(row)
        ordered.append(row)
    _run(call, list(groups.values()), all_or_none=all_or_none)
    for row in ordered:
        row.record_id = row.record_id or (str(row.values["Id"]) if row.values.get("Id") else None)
    return _results(ordered, upsert=False)


def collections(call: Call) -> Response:
    """POST (create), PATCH (update, or upsert with /{Obj}/{Field}) and DELETE."""
    try:
        if call.method == "DELETE":
            return _delete(call)
        if call.method == "POST":
            return _write(call, "insert")
        if "sobject" in call.params:
            return _upsert(call)
        return _write(call, "update")
    except _Refused as refused:
        return refused.response
