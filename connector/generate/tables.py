"""The two source tables the generator changes: accounts and the contacts that belong to them.

Their columns follow schemas/account-value.avsc and contact-value.avsc (a Postgres `crm`
database captured by Debezium); each mapped column names its Salesforce field in
schemas/objects.yaml, so the routes of a run are derived from here (see `routes`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product
from random import Random

from connector.generate import columns as c
from connector.generate.columns import POOL_SIZE, Column, Pool


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split(";"))


# Non-ASCII on purpose: names and places travel as UTF-8 all the way to the org.
_ADJECTIVES = _words(
    "Blue;Northern;Global;Bright;Quiet;Rapid;Golden;Urban;Crimson;Silver;Pacific;Alpine;"
    "Prime;Clever;Royal;Green"
)
_NOUNS = _words(
    "Harbor;Summit;Orchard;Forge;Signal;Lantern;Meadow;Anchor;Circuit;Compass;Falcon;"
    "Granite;Horizon;Juniper;Beacon;Canyon"
)
_SUFFIXES = _words("Ltd;Inc.;GmbH;S.A.;& Sons;Partners;Group;Co-op")
_CITIES = _words(
    "Lyon;Zürich;São Paulo;Kraków;Osaka;Toronto;Austin;Dublin;Nairobi;Melbourne;Reykjavík;"
    "Montréal;Seville;Tallinn;Porto"
)
_COUNTRIES = _words(
    "France;Switzerland;Brazil;Poland;Japan;Canada;United States;Ireland;Kenya;Australia;"
    "Iceland;Spain;Estonia;Portugal"
)
_STREETS = _words(
    "Main St;Rue de la République;Baker Street;Via Roma;Calle Mayor;Hauptstraße;Elm Avenue;"
    "Rua Augusta"
)
_FIRST = _words(
    "Ada;Grace;Alan;Linus;Margaret;Edsger;Barbara;Ken;Radia;Tim;Frances;Donald;Hedy;Dennis;"
    "Katherine;Guido;Zoë;José"
)
_LAST = _words(
    "Lovelace;Hopper;Turing;Torvalds;Hamilton;Dijkstra;Liskov;Thompson;Perlman;Berners-Lee;"
    "Allen;Knuth;Lamarr;Ritchie;Johnson;van Rossum;O'Brien;Müller"
)
_TITLES = (
    *_words("CEO;CTO;VP Sales;Buyer;Engineer;Office Manager;Head of Data;Procurement Lead"),
    None,
)
# Free text exercises the CSV rules: commas, quotes, line breaks, non-ASCII.
_DESCRIPTIONS = (
    "Key account, renews yearly",
    'Prefers "email only" contact',
    "Two sites:\nmain office and warehouse",
    "Café chain; 12 outlets",
    "Referred by a partner, pays on time",
    "取引先 (Japanese subsidiary)",
    "On hold, pending review",
)


def _companies() -> tuple[str, ...]:
    return tuple(f"{a} {n} {s}" for a, n, s in product(_ADJECTIVES, _NOUNS, _SUFFIXES))


def _phones() -> tuple[str, ...]:
    return tuple(f"+1 555 01{n:02d} {m:03d}" for n in range(100) for m in range(0, 1000, 37))


def _codes(prefix: str) -> c.Make:
    return lambda rng: f"{prefix}-{c.below(rng, 10**7):07d}"


def _website(rng: Random) -> object:
    host = _NOUNS[c.below(rng, len(_NOUNS))].lower()
    return f"https://{host}{c.below(rng, 10**4)}.example.com"


def _email(rng: Random) -> object:
    first = _FIRST[int(rng.random() * len(_FIRST))].lower()
    return f"{first}.{c.below(rng, 10**6)}@example.org"


def _street(rng: Random) -> object:
    return f"{1 + c.below(rng, 299)} {_STREETS[int(rng.random() * len(_STREETS))]}"


@dataclass(frozen=True, slots=True)
class Parent:
    """A reference to a row of another table, written through its external id."""

    column: str
    table: str
    id_field: str
    target: str


@dataclass(frozen=True, slots=True)
class Table:
    """A source table, the Salesforce object it becomes, and the changes it may suffer.

    Args:
        name: the table's name; its schemas are schemas/<name>-key.avsc and -value.avsc.
        sobject: the Salesforce object its rows become.
        columns: every column but `id` (the key, written to `external_id`).
        patches: column sets sent alone as sparse updates.
        rejects: (column, value) pairs that pass decoding and mapping but that
            Salesforce refuses (a bad restricted picklist value, a string too long).
        parent: the column naming a row of another table, if any.
    """

    name: str
    sobject: str
    columns: tuple[Column, ...]
    patches: tuple[tuple[str, ...], ...]
    rejects: tuple[tuple[str, object], ...]
    parent: Parent | None = None
    external_id: str = "ExternalKey__c"
    pools: tuple[Pool, ...] = field(init=False, repr=False, compare=False)
    positions: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        positions = {column.source: i for i, column in enumerate(self.columns)}
        bad = {name: tuple(v for n, v in self.rejects if n == name) for name in positions}
        pools = tuple(
            column.pool(f"{self.name}.{column.source}", bad[column.source])
            for column in self.columns
        )
        object.__setattr__(self, "positions", positions)
        object.__setattr__(self, "pools", pools)

    @property
    def namespace(self) -> str:
        """Debezium's schema namespace: server.schema.table."""
        return f"crm.public.{self.name}"

    def reject(self, index: int) -> tuple[int, int]:
        """The (column position, pool index) of the table's `index`-th refused value."""
        name, value = self.rejects[index]
        position = self.positions[name]
        pool = self.pools[position]
        return position, pool.values.index(value, pool.first + POOL_SIZE)


_COMPANIES = _companies()
_PHONES = _phones()

ACCOUNTS = Table(
    name="account",
    sobject="Account",
    columns=(
        Column("external_key", "AccountNumber", _codes("AC"), nullable=False),
        Column("name", "Name", c.pick(_COMPANIES), nullable=False),
        Column("industry", "Industry", c.pick(("Agriculture", "Banking", "Technology", "Retail"))),
        Column(
            "annual_revenue",
            "AnnualRevenue",
            c.decimal_bytes(10**9),
            json=c.decimal_text,
            org=c.org_number,
        ),
        Column("employees", "NumberOfEmployees", c.integer(1, 200_000), coerce="int"),
        Column("rating", "Score__c", c.double(100)),
        Column("active", "Active__c", c.flag(), nullable=False, coerce="boolean"),
        Column(
            "founded",
            "Founded__c",
            c.days(-3650, 20_000),
            json=c.date_text,
            org=c.date_text,
            coerce="date",
        ),
        Column("created_at", None, c.micros(), nullable=False, json=c.timestamp_text),
        Column("updated_at", "LastSyncedAt__c", c.zoned(), org=c.org_datetime),
        Column("opens_at", None, c.integer(0, 86_399_999_999)),
        Column("website", "Website", _website),
        Column("phone", "Phone", c.pick(_PHONES)),
        Column("billing_city", "BillingCity", c.pick(_CITIES)),
        Column("billing_country", "BillingCountry", c.pick(_COUNTRIES)),
        Column(
            "credit_limit",
            "CreditLimit__c",
            c.variable_decimal(10**7),
            json=c.decimal_text,
            org=c.org_number,
        ),
        Column("public_id", "PublicId__c", c.uuid_text()),
        Column("account_type", "Type", c.pick(("Prospect", "Customer", "Partner", "Other"))),
        Column("description", "Description", c.pick(_DESCRIPTIONS)),
        Column("fax", "Fax", c.pick(_PHONES)),
        Column("tier", "Rating", c.pick(("Hot", "Warm", "Cold"))),
        Column("billing_street", "BillingStreet", _street),
        Column("billing_postal_code", "BillingPostalCode", _codes("PC")),
    ),
    patches=(
        ("phone",),
        ("industry", "employees"),
        ("name", "website", "updated_at"),
        ("billing_street", "billing_city", "billing_postal_code", "billing_country"),
        ("tier", "credit_limit"),
    ),
    rejects=(("tier", "Lukewarm"), ("name", "Name that runs on " * 16)),
)

CONTACTS = Table(
    name="contact",
    sobject="Contact",
    columns=(
        Column("external_key", None, _codes("CT"), nullable=False),
        Column("first_name", "FirstName", c.pick(_FIRST)),
        Column("last_name", "LastName", c.pick(_LAST), nullable=False),
        Column("email", "Email", _email),
        Column("phone", "Phone", c.pick(_PHONES)),
        Column("title", "Title", c.pick(_TITLES)),
        Column(
            "birthdate",
            "Birthdate",
            c.days(-20_000, 10_000),
            json=c.date_text,
            org=c.date_text,
            coerce="date",
        ),
        Column("do_not_call", "DoNotCall", c.flag(), nullable=False, coerce="boolean"),
        Column("lead_score", None, c.integer(0, 100)),
        Column("created_at", None, c.millis(), nullable=False, json=c.millis_text),
        Column("updated_at", None, c.zoned()),
        Column("last_contacted", None, c.micros(), json=c.timestamp_text),
        Column("salary", None, c.decimal_bytes(10**6), json=c.decimal_text),
        Column(
            "lead_source",
            "LeadSource",
            c.pick(("Web", "Phone Inquiry", "Partner Referral", "Other")),
        ),
    ),
    patches=(("email",), ("title", "phone"), ("first_name", "last_name"), ("do_not_call",)),
    rejects=(("email", "not-an-email"),),
    parent=Parent("account_key", "account", "AccountId", "Account.ExternalKey__c"),
)

TABLES = (ACCOUNTS, CONTACTS)


def route(table: Table, topic: str, value_format: str) -> dict[str, object]:
    """The sfsink route that replicates `table` from `topic` (a Route's fields, as in YAML)."""
    mapped = [column for column in table.columns if column.target is not None]
    spec: dict[str, object] = {
        "topic": topic,
        "sobject": table.sobject,
        "external_id": table.external_id,
        "format": value_format,
        "key_path": "id",
        "fields": {column.source: column.target for column in mapped},
        "coerce": {column.target: column.coerce for column in mapped if column.coerce},
    }
    if table.parent is not None:
        spec["relationships"] = {table.parent.column: table.parent.target}
        spec["group_by"] = table.parent.target
    return spec
