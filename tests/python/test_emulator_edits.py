"""The admin API's user-like edits (`PATCH /_emulator/accounts/{account}/assets/{type}/{id}`),
each seen through QuickSight's own API afterwards: describe calls, permission calls and an
export's bundle, with a later LastUpdatedTime. They run on an emulator of their own, so the
session's shared `small` account keeps every asset the other tests expect."""

from __future__ import annotations

import copy

import pytest

from conftest import _client_factory, _serve
from qs_helpers import ACCOUNT, bundle_members, export_until_successful

ARN = "arn:aws:quicksight:us-east-1:123456789012"
PRINCIPAL = "arn:aws:quicksight:us-east-1:123456789012:group/default/edits-test-group"


@pytest.fixture(scope="module")
def served():
    gen = _serve("small")
    yield next(gen)
    gen.close()


@pytest.fixture(scope="module")
def qs(served, checker):
    return _client_factory(served, checker)()


def edit(served, kind: str, asset_id: str, patch: dict) -> dict:
    status, body = served.admin("PATCH", f"/_emulator/accounts/{ACCOUNT}/assets/{kind}/{asset_id}", patch)
    assert status == 200, (status, body)
    return body


def calculated(data_set: dict) -> tuple[str, int, dict]:
    """(logical table id, index in DataTransforms, CreateColumnsOperation) of a data set, or a KeyError."""
    for table_id, table in data_set["LogicalTableMap"].items():
        for i, transform in enumerate(table.get("DataTransforms", [])):
            if "CreateColumnsOperation" in transform:
                return table_id, i, transform["CreateColumnsOperation"]
    raise KeyError(data_set["DataSetId"])


def test_rename_a_dashboard(served, qs):
    before = qs.call("DescribeDashboard", AwsAccountId=ACCOUNT, DashboardId="dashboard-0000")["Dashboard"]
    out = edit(served, "dashboard", "dashboard-0000", {"name": "Renamed sales dashboard"})
    after = qs.call("DescribeDashboard", AwsAccountId=ACCOUNT, DashboardId="dashboard-0000")["Dashboard"]
    assert after["Name"] == "Renamed sales dashboard"
    assert after["LastUpdatedTime"] > before["LastUpdatedTime"]
    assert after["Version"]["VersionNumber"] == before["Version"]["VersionNumber"] + 1 == out["version"]
    definition = qs.call("DescribeDashboardDefinition", AwsAccountId=ACCOUNT, DashboardId="dashboard-0000")
    assert definition["Name"] == "Renamed sales dashboard"


def test_generated_data_sets_carry_calculated_columns(qs):
    with_calc = []
    for summary in qs.pages("ListDataSets", "DataSetSummaries", AwsAccountId=ACCOUNT):
        data_set = qs.call("DescribeDataSet", AwsAccountId=ACCOUNT, DataSetId=summary["DataSetId"])["DataSet"]
        try:
            _, _, op = calculated(data_set)
        except KeyError:
            continue
        with_calc.append(data_set["DataSetId"])
        outputs = {c["Name"] for c in data_set["OutputColumns"]}
        for column in op["Columns"]:
            assert column["ColumnName"] in outputs, "a calculated column is an output column"
            assert column["Expression"] and column["ColumnId"]
    assert with_calc and len(with_calc) < 12, with_calc


def test_body_merge_patch_edits_a_calculated_column(served, qs):
    data_set = qs.call("DescribeDataSet", AwsAccountId=ACCOUNT, DataSetId="dataset-0002")["DataSet"]
    table_id, index, op = calculated(data_set)
    transforms = copy.deepcopy(data_set["LogicalTableMap"][table_id]["DataTransforms"])
    transforms[index]["CreateColumnsOperation"]["Columns"][0]["Expression"] = "concat({region}, ' (edited)')"
    edit(served, "dataset", "dataset-0002", {"body": {"LogicalTableMap": {table_id: {"DataTransforms": transforms}}}})

    after = qs.call("DescribeDataSet", AwsAccountId=ACCOUNT, DataSetId="dataset-0002")["DataSet"]
    assert after["LastUpdatedTime"] > data_set["LastUpdatedTime"]
    _, _, edited = calculated(after)
    assert edited["Columns"][0]["Expression"] == "concat({region}, ' (edited)')"
    assert edited["Columns"][0]["ColumnId"] == op["Columns"][0]["ColumnId"]
    # Only what the patch named changed.
    assert after["LogicalTableMap"][table_id]["Source"] == data_set["LogicalTableMap"][table_id]["Source"]
    assert after["PhysicalTableMap"] == data_set["PhysicalTableMap"]

    outcome = export_until_successful(qs, [after["Arn"]])
    member = bundle_members(outcome.bundle)["dataset/dataset-0002.json"]
    bundled = member["logicalTableMap"][table_id]["DataTransforms"][index]["CreateColumnsOperation"]
    assert bundled["Columns"][0]["Expression"] == "concat({region}, ' (edited)')"


def test_definition_merge_patch_on_a_dashboard(served, qs):
    dashboard = "dashboard-0001"
    before = qs.call("DescribeDashboard", AwsAccountId=ACCOUNT, DashboardId=dashboard)["Dashboard"]
    old = qs.call("DescribeDashboardDefinition", AwsAccountId=ACCOUNT, DashboardId=dashboard)["Definition"]
    fields = [{"DataSetIdentifier": "ds0", "Name": "margin_pct", "Expression": "{margin} / {amount} * 100"}]
    edit(served, "dashboard", dashboard, {"definition": {"CalculatedFields": fields}})

    after = qs.call("DescribeDashboard", AwsAccountId=ACCOUNT, DashboardId=dashboard)["Dashboard"]
    assert after["LastUpdatedTime"] > before["LastUpdatedTime"]
    assert after["Version"]["VersionNumber"] == before["Version"]["VersionNumber"] + 1
    new = qs.call("DescribeDashboardDefinition", AwsAccountId=ACCOUNT, DashboardId=dashboard)["Definition"]
    assert new["CalculatedFields"] == fields
    # The rest of the generated definition is kept, and stays kept.
    assert new["Sheets"] == old["Sheets"]
    assert new["DataSetIdentifierDeclarations"] == old["DataSetIdentifierDeclarations"]
    published = qs.call(
        "DescribeDashboardDefinition",
        AwsAccountId=ACCOUNT,
        DashboardId=dashboard,
        VersionNumber=after["Version"]["VersionNumber"],
    )["Definition"]
    assert published == new

    outcome = export_until_successful(qs, [after["Arn"]])
    member = bundle_members(outcome.bundle)[f"dashboard/{dashboard}.json"]
    assert member["definition"]["CalculatedFields"] == fields


def test_definition_merge_patch_on_an_analysis_sheets_follow(served, qs):
    analysis = "analysis-0000"
    before = qs.call("DescribeAnalysis", AwsAccountId=ACCOUNT, AnalysisId=analysis)["Analysis"]
    old = qs.call("DescribeAnalysisDefinition", AwsAccountId=ACCOUNT, AnalysisId=analysis)["Definition"]
    sheet = copy.deepcopy(old["Sheets"][0])
    sheet["Name"] = "Overview"
    edit(served, "analysis", analysis, {"definition": {"Sheets": [sheet]}})

    after = qs.call("DescribeAnalysis", AwsAccountId=ACCOUNT, AnalysisId=analysis)["Analysis"]
    assert after["LastUpdatedTime"] > before["LastUpdatedTime"]
    assert after["Sheets"] == [{"SheetId": sheet["SheetId"], "Name": "Overview"}]
    new = qs.call("DescribeAnalysisDefinition", AwsAccountId=ACCOUNT, AnalysisId=analysis)["Definition"]
    assert [s["Name"] for s in new["Sheets"]] == ["Overview"]


def test_permissions_are_replaced(served, qs):
    dashboard = "dashboard-0003"
    before = qs.call("DescribeDashboard", AwsAccountId=ACCOUNT, DashboardId=dashboard)["Dashboard"]
    permissions = [{"Principal": PRINCIPAL, "Actions": ["quicksight:DescribeDashboard", "quicksight:QueryDashboard"]}]
    edit(served, "dashboard", dashboard, {"permissions": permissions})

    described = qs.call("DescribeDashboardPermissions", AwsAccountId=ACCOUNT, DashboardId=dashboard)
    assert described["Permissions"] == permissions
    after = qs.call("DescribeDashboard", AwsAccountId=ACCOUNT, DashboardId=dashboard)["Dashboard"]
    assert after["LastUpdatedTime"] > before["LastUpdatedTime"]
    outcome = export_until_successful(qs, [after["Arn"]], IncludePermissions=True)
    member = bundle_members(outcome.bundle)[f"dashboard/{dashboard}.json"]
    assert member["permissions"] == [{"principal": PRINCIPAL, "actions": permissions[0]["Actions"]}]


def test_tags_are_replaced(served, qs):
    dashboard = "dashboard-0008"
    before = qs.call("DescribeDashboard", AwsAccountId=ACCOUNT, DashboardId=dashboard)["Dashboard"]
    edit(served, "dashboard", dashboard, {"tags": [{"Key": "team", "Value": "edited"}]})
    after = qs.call("DescribeDashboard", AwsAccountId=ACCOUNT, DashboardId=dashboard)["Dashboard"]
    assert after["LastUpdatedTime"] > before["LastUpdatedTime"]
    outcome = export_until_successful(qs, [after["Arn"]], IncludeTags=True)
    member = bundle_members(outcome.bundle)[f"dashboard/{dashboard}.json"]
    assert member["tags"] == [{"key": "team", "value": "edited"}]


@pytest.mark.parametrize(
    "operation, id_key, asset_id",
    [
        ("DescribeDataSourcePermissions", "DataSourceId", None),
        ("DescribeDataSetPermissions", "DataSetId", "dataset-0000"),
        ("DescribeAnalysisPermissions", "AnalysisId", "analysis-0002"),
        ("DescribeDashboardPermissions", "DashboardId", "dashboard-0006"),
        ("DescribeThemePermissions", "ThemeId", None),
    ],
)
def test_describe_permissions(qs, operation, id_key, asset_id):
    if asset_id is None:
        kind = "DataSources" if id_key == "DataSourceId" else "ThemeSummaryList"
        listed = qs.call("ListDataSources" if kind == "DataSources" else "ListThemes", AwsAccountId=ACCOUNT,
                         **({} if kind == "DataSources" else {"Type": "CUSTOM"}))[kind]
        asset_id = listed[0][id_key]
    out = qs.call(operation, AwsAccountId=ACCOUNT, **{id_key: asset_id})
    assert out[id_key] == asset_id
    assert out[id_key.replace("Id", "Arn")].endswith("/" + asset_id)
    assert out["Permissions"] and all(p["Principal"] and p["Actions"] for p in out["Permissions"])
    qs.error(operation, "ResourceNotFoundException", 404, AwsAccountId=ACCOUNT, **{id_key: "no-such-asset"})


@pytest.mark.parametrize(
    "patch, named",
    [
        ({"Name": "x"}, "Name"),
        ({"name": "x", "owner": "y"}, "owner"),
        ({"body": {"Arn": "x"}}, "Arn"),
        ({"permissions": [{"Principal": PRINCIPAL}]}, "Actions"),
        ({"tags": {"Key": "k"}}, "tags"),
    ],
)
def test_refused_edits_are_400_and_change_nothing(served, qs, patch, named):
    before = qs.call("DescribeDashboard", AwsAccountId=ACCOUNT, DashboardId="dashboard-0004")["Dashboard"]
    status, body = served.admin("PATCH", f"/_emulator/accounts/{ACCOUNT}/assets/dashboard/dashboard-0004", patch)
    assert status == 400, (status, body)
    assert named in body["error"]
    after = qs.call("DescribeDashboard", AwsAccountId=ACCOUNT, DashboardId="dashboard-0004")["Dashboard"]
    assert after == before


def test_definition_of_a_data_set_is_refused(served):
    status, body = served.admin("PATCH", f"/_emulator/accounts/{ACCOUNT}/assets/dataset/dataset-0000", {"definition": {}})
    assert status == 400 and "definition" in body["error"], (status, body)


def test_deleting_an_analysis(served, qs):
    status, _ = served.admin("DELETE", f"/_emulator/accounts/{ACCOUNT}/assets/analysis/analysis-0001")
    assert status == 200
    qs.error("DescribeAnalysis", "ResourceNotFoundException", 404, AwsAccountId=ACCOUNT, AnalysisId="analysis-0001")
    ids = {a["AnalysisId"] for a in qs.pages("ListAnalyses", "AnalysisSummaryList", AwsAccountId=ACCOUNT)}
    assert "analysis-0001" not in ids
