"""DescribeAnalysisDefinition and DescribeDashboardDefinition for every analysis and
dashboard of the small account, each raw body (definitions included) checked against
botocore's model; the ones with definition errors say so in `Errors`."""

from __future__ import annotations

import pytest

from qs_helpers import ACCOUNT, KIND_BY_RESOURCE, list_assets

CASES = [
    ("analysis", "DescribeAnalysisDefinition", "AnalysisId"),
    ("dashboard", "DescribeDashboardDefinition", "DashboardId"),
]


@pytest.mark.parametrize("resource,op,id_key", CASES, ids=[c[0] for c in CASES])
def test_every_definition_matches_the_model(qs, resource, op, id_key):
    assets = list_assets(qs, KIND_BY_RESOURCE[resource])
    assert assets
    with_errors = 0
    for a in assets:
        out = qs.call(op, AwsAccountId=ACCOUNT, **{id_key: a[id_key]})
        assert out[id_key] == a[id_key]
        assert out["Definition"]["Sheets"], f"{a[id_key]}: a definition has sheets"
        with_errors += bool(out.get("Errors"))
    assert with_errors >= 1, "the small account has an asset whose definition has errors"
    qs.error(op, "ResourceNotFoundException", 404, AwsAccountId=ACCOUNT, **{id_key: "no-such-asset"})
