"""POST /jobs/ingest: checks the job request as Salesforce does, JSON or multipart."""

from __future__ import annotations

from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP

from starlette.responses import Response

from emulator.http import Call, api_error, sf_json
from emulator.jobs import DELIMITERS, LINE_ENDINGS, Job, State, created_info

OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
# Multipart create is for small payloads; the current docs say 100,000 characters.
MULTIPART_LIMIT = 100_000


class RefusedError(Exception):
    """The create request is refused with this response."""

    def __init__(self, response: Response) -> None:
        self.response = response


def _invalid(name: str, value: object) -> RefusedError:
    shown = "" if value is None else str(value)
    return RefusedError(
        api_error(400, "API_ERROR", f"Invalid value: '{shown}' supplied for property: '{name}'")
    )


def _invalid_job(message: str) -> RefusedError:
    return RefusedError(api_error(400, "INVALIDJOB", f"InvalidJob : {message}"))


def _check(call: Call, body: dict[str, object]) -> dict[str, str]:
    operation = body.get("operation")
    if operation not in OPERATIONS:
        raise _invalid("operation", operation)
    for name, allowed in (
        ("contentType", ("CSV",)),
        ("columnDelimiter", tuple(DELIMITERS)),
        ("lineEnding", tuple(LINE_ENDINGS)),
    ):
        if name in body and body[name] not in allowed:
            raise _invalid(name, body[name])
    obj = call.org.schema.get(str(body.get("object") or ""))
    if obj is None:
        raise _invalid_job(f"Unable to find object: {body.get('object') or ''}")
    checked = {"object": obj.name, "operation": str(operation)}
    ext_name = body.get("externalIdFieldName")
    if operation == "upsert":
        if not ext_name:
            raise _invalid_job(
                f"External ID was blank for {obj.name}. "
                "An External ID must be specified for upsert."
            )
        ext = obj.field(str(ext_name))
        if ext is None or not ext.id_lookup:
            raise _invalid_job(
                f"Field name provided, {ext_name} does not match an External ID for {obj.name}"
            )
        checked["externalIdFieldName"] = ext.name
    rule = body.get("assignmentRuleId")
    if rule:
        if float(call.version) < 49.0:  # noqa: PLR2004 - assignmentRuleId arrived in v49
            raise _invalid("assignmentRuleId", rule)
        checked["assignmentRuleId"] = str(rule)
    return checked


def _new_job(call: Call, body: dict[str, object]) -> Job:
    checked = _check(call, body)
    job = call.org.jobs.create("ingest", checked["object"], checked["operation"], call.version)
    job.external_id_field = checked.get("externalIdFieldName")
    job.assignment_rule_id = checked.get("assignmentRuleId")
    job.column_delimiter = str(body.get("columnDelimiter") or "COMMA")
    job.line_ending = str(body.get("lineEnding") or "LF")
    return job


def create_job(call: Call) -> Response:
    """Create an ingest job from a JSON body, or a multipart body that carries the data."""
    content_type = call.headers.get("content-type", "")
    try:
        if content_type.startswith("multipart/form-data"):
            return _multipart(call, content_type)
        body = call.json()
        if not isinstance(body, dict):
            raise _invalid("operation", None)
        job = _new_job(call, body)
    except RefusedError as refused:
        return refused.response
    except ValueError:
        return api_error(400, "JSON_PARSER_ERROR", "The request body is not valid JSON")
    return sf_json(created_info(job))


def _payload(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _multipart(call: Call, content_type: str) -> Response:
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + call.body)
    parts = {p.get_param("name", header="content-disposition"): p for p in message.iter_parts()}
    job_part, content_part = parts.get("job"), parts.get("content")
    if job_part is None or content_part is None:
        return api_error(400, "INVALIDJOB", "InvalidJob : Multipart requests need job and content")
    data = _payload(content_part)
    limit = call.org.faults.current.max_multipart_chars or MULTIPART_LIMIT
    if len(data.decode("utf-8", errors="replace")) > limit:
        return api_error(
            400, "INVALIDJOB", f"InvalidJob : Multipart content exceeds {limit} characters"
        )
    import json  # noqa: PLC0415 - only multipart requests need it here

    body = json.loads(_payload(job_part) or b"{}")
    job = _new_job(call, body)
    job.upload_path.write_bytes(data)
    with call.org.jobs.lock:
        job.uploaded = True
        job.move(State.UPLOAD_COMPLETE)
    call.org.worker.submit(job)
    return sf_json(created_info(job))
