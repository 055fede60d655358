"""The fixed grants the golden files and the policy tests are written against."""

from shuzhi.exchange.masking import parse_rule
from shuzhi.exchange.policy import GrantedTable

POPULATION_FIELDS = (
    ("id_number", "VARCHAR"),
    ("name", "VARCHAR"),
    ("gender", "VARCHAR"),
    ("birth_date", "DATE"),
    ("region_code", "VARCHAR"),
    ("income", "DOUBLE"),
    ("religion", "VARCHAR"),
)

ENTERPRISE_FIELDS = (
    ("uscc", "VARCHAR"),
    ("ent_name", "VARCHAR"),
    ("legal_id_number", "VARCHAR"),
    ("capital", "DOUBLE"),
    ("region_code", "VARCHAR"),
    ("tax_owed", "DOUBLE"),
)

POPULATION = GrantedTable(
    name="population",
    relation="_sz_r1",
    fields=POPULATION_FIELDS,
    masks={
        "id_number": parse_rule("hash"),
        "name": parse_rule("keep_first:1"),
        "gender": parse_rule("clear"),
        "birth_date": parse_rule("year"),
        "region_code": parse_rule("region_city"),
        "income": parse_rule("band:1000"),
    },
    row_filter="region_code LIKE '3301%'",
    key=b"grant-1",
)
"""religion is never granted; rows outside region 3301xx are filtered."""

ENTERPRISE = GrantedTable(
    name="enterprise",
    relation="_sz_r2",
    fields=ENTERPRISE_FIELDS,
    masks={
        "uscc": parse_rule("clear"),
        "ent_name": parse_rule("clear"),
        "legal_id_number": parse_rule("hash"),
        "capital": parse_rule("round:-4"),
        "region_code": parse_rule("region_province"),
    },
    row_filter=None,
    key=b"grant-2",
)
"""tax_owed is never granted; no row filter."""

LICENCES = GrantedTable(
    name="licences",
    relation="_sz_r3",
    fields=(("licence_no", "VARCHAR"), ("holder", "VARCHAR"), ("issued_on", "DATE")),
    masks={
        "licence_no": parse_rule("clear"),
        "holder": parse_rule("keep_first:1"),
        "issued_on": parse_rule("month"),
    },
    key=b"grant-3",
    row_quota_grant=3,
)
"""Read under grant 3, which has a rows-per-day quota: record reads only."""

SOCIAL = GrantedTable(
    name="hrss-social-insurance",
    relation="_sz_r4",
    fields=(("person_id", "VARCHAR"), ("amount", "DOUBLE"), ("employer", "VARCHAR")),
    masks={"person_id": parse_rule("hash"), "amount": parse_rule("clear")},
    row_filter="amount > 0",
    key=b"grant-4",
    alias="hrss_social_insurance",
)
"""An identifier SQL cannot take unquoted, and its alias; employer is never granted."""

TABLES = {
    "population": POPULATION,
    "enterprise": ENTERPRISE,
    "licences": LICENCES,
    "hrss-social-insurance": SOCIAL,
}
