"""Global and sObject describe, from the objects file."""

from __future__ import annotations

from emulator.schema import NUMBER_TYPES, FieldDef, ObjectDef, Schema


def _urls(obj: ObjectDef, version: str) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{obj.name}"
    return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}


def object_summary(obj: ObjectDef, version: str) -> dict[str, object]:
    """An entry of the global describe."""
    return {
        "name": obj.name,
        "label": obj.label,
        "labelPlural": obj.label + "s",
        "keyPrefix": obj.key_prefix,
        "custom": obj.custom,
        "createable": True,
        "updateable": True,
        "deletable": True,
        "queryable": True,
        "retrieveable": True,
        "searchable": True,
        "layoutable": True,
        "urls": _urls(obj, version),
    }


def global_describe(schema: Schema, version: str) -> dict[str, object]:
    """GET /sobjects."""
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [object_summary(o, version) for o in schema.objects.values()],
    }


def _field(fld: FieldDef) -> dict[str, object]:
    text = fld.type not in NUMBER_TYPES | {"boolean", "int", "date", "datetime"}
    return {
        "name": fld.name,
        "label": fld.label,
        "type": fld.type,
        "length": fld.length if text else 0,
        "byteLength": fld.length * 3 if text else 0,
        "precision": fld.precision,
        "scale": fld.scale,
        "digits": 9 if fld.type == "int" else 0,
        "nillable": fld.nillable,
        "createable": fld.createable,
        "updateable": fld.updateable,
        "defaultedOnCreate": fld.system or fld.type == "boolean",
        "calculated": False,
        "custom": fld.name.endswith("__c"),
        "externalId": fld.external_id,
        "unique": fld.unique,
        "idLookup": fld.id_lookup,
        "caseSensitive": False,
        "filterable": True,
        "sortable": fld.type != "textarea",
        "referenceTo": [fld.reference_to] if fld.reference_to else [],
        "relationshipName": fld.relationship_name,
        "polymorphicForeignKey": False,
        "picklistValues": [
            {"active": True, "defaultValue": False, "label": v, "value": v}
            for v in fld.picklist_values
        ],
        "restrictedPicklist": fld.restricted,
        "soapType": _soap_type(fld),
    }


def _soap_type(fld: FieldDef) -> str:
    return {
        "id": "tns:ID",
        "reference": "tns:ID",
        "boolean": "xsd:boolean",
        "int": "xsd:int",
        "date": "xsd:date",
        "datetime": "xsd:dateTime",
    }.get(fld.type, "xsd:double" if fld.type in NUMBER_TYPES else "xsd:string")


def describe(schema: Schema, obj: ObjectDef, version: str) -> dict[str, object]:
    """GET /sobjects/{name}/describe."""
    children = [
        {
            "childSObject": other.name,
            "field": fld.name,
            "relationshipName": None,
            "cascadeDelete": False,
        }
        for other in schema.objects.values()
        for fld in other.fields.values()
        if fld.reference_to == obj.name
    ]
    return {
        **object_summary(obj, version),
        "fields": [_field(f) for f in obj.fields.values()],
        "childRelationships": children,
    }
