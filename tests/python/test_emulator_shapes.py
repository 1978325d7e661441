"""Every operation qs-emulator serves, driven through boto3, each raw body checked
against botocore's output shape (see shape_check.py).

The `small` profile of seed 1 lives in account 123456789012; 210987654321 starts
empty and receives an import of the exported bundle. The read-only sweeps (lists,
describes, refresh schedules, folders, identities) also run on the `medium` profile,
which generates every kind of asset and data source the emulator knows (the small one
has too few data sources to reach them all).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import botocore.session
import pytest

from qs_helpers import (
    ACCOUNT,
    ASSET_KINDS,
    KIND_BY_RESOURCE,
    TARGET_ACCOUNT,
    bundle_layout_problems,
    bundle_members,
    export_until_successful,
    list_assets,
    parse_arn,
    unique_id,
    wait_job,
)
from shape_check import format_problems

KIND_IDS = [k.resource for k in ASSET_KINDS]
PROFILES = ["small", "medium"]


@dataclass
class World:
    """One generated account: its client, every asset by ARN resource type, its namespaces."""

    profile: str
    qs: Any  # conftest.QuickSight
    inventory: dict[str, list[dict]]
    namespaces: list[str]


def _world(profile: str, qs) -> World:
    inventory = {kind.resource: list_assets(qs, kind) for kind in ASSET_KINDS}
    found = qs.pages("ListNamespaces", "Namespaces", page_size=100, AwsAccountId=ACCOUNT)
    return World(profile, qs, inventory, [ns["Name"] for ns in found])


@pytest.fixture(scope="module")
def small(qs) -> World:
    return _world("small", qs)


@pytest.fixture(scope="module", params=PROFILES)
def world(request) -> World:
    """The small and the medium account in turn, for the read-only sweeps."""
    if request.param == "small":
        return request.getfixturevalue("small")
    return _world("medium", request.getfixturevalue("qs_medium"))


@pytest.fixture(scope="module")
def inventory(small) -> dict[str, list[dict]]:
    """Every asset of the small account, by ARN resource type."""
    return small.inventory


@pytest.fixture(scope="module")
def namespaces(small) -> list[str]:
    return small.namespaces


# ----- lists and pagination ------------------------------------------------------------


@pytest.mark.parametrize("resource", KIND_IDS)
def test_list_assets_paginates(world, resource):
    qs = world.qs
    kind = KIND_BY_RESOURCE[resource]
    full = world.inventory[resource]
    assert full, f"{kind.list_op}: the {world.profile} account has no {resource}"
    by_two = list_assets(qs, kind, page_size=2)
    assert [a[kind.id_key] for a in by_two] == [a[kind.id_key] for a in full]
    ids = [a[kind.id_key] for a in full]
    assert len(ids) == len(set(ids)), f"{kind.list_op}: duplicate ids"
    unbounded = list_assets(qs, kind, page_size=None)
    assert [a[kind.id_key] for a in unbounded] == ids
    for summary in full:
        region, account, res, res_id = parse_arn(summary["Arn"])
        assert (region, account, res, res_id) == ("us-east-1", ACCOUNT, resource, summary[kind.id_key])


INVALID_TOKEN_CALLS = {
    "ListDataSources": {},
    "ListDataSets": {},
    "ListAnalyses": {},
    "ListDashboards": {},
    "ListThemes": {"Type": "ALL"},
    "ListVPCConnections": {},
    "ListFolders": {},
    "ListTopics": {},
    "ListNamespaces": {},
    "ListUsers": {"Namespace": "default"},
    "ListGroups": {"Namespace": "default"},
    "ListAssetBundleExportJobs": {},
}


@pytest.mark.parametrize("operation", sorted(INVALID_TOKEN_CALLS))
def test_invalid_next_token(qs, checker, operation):
    assert "InvalidNextTokenException" in {e.name for e in checker.operation(operation).error_shapes}
    qs.error(
        operation,
        "InvalidNextTokenException",
        status=400,
        AwsAccountId=ACCOUNT,
        NextToken="not-a-token-the-emulator-issued",
        **INVALID_TOKEN_CALLS[operation],
    )


@pytest.mark.parametrize("operation", ["ListBrands", "ListCustomPermissions"])
def test_invalid_next_token_where_not_modelled(qs, checker, operation):
    """These operations page but do not declare InvalidNextTokenException: a bad
    token must still answer a 400 error they declare (checked by `attempt`)."""
    assert "InvalidNextTokenException" not in {e.name for e in checker.operation(operation).error_shapes}
    _, err = qs.attempt(operation, AwsAccountId=ACCOUNT, NextToken="not-a-token-the-emulator-issued")
    assert err is not None and err.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize(
    "operation, params",
    [
        ("ListGroupMemberships", {"Namespace": "default", "GroupName": "default-team-001"}),
        ("ListFolderMembers", {"FolderId": "folder-000"}),
        ("DescribeFolderPermissions", {"FolderId": "folder-000"}),
    ],
)
def test_invalid_next_token_nested(qs, operation, params):
    qs.error(operation, "InvalidNextTokenException", status=400, AwsAccountId=ACCOUNT, NextToken="bogus", **params)


MAX_RESULTS_CALLS = {
    "ListDataSources": {},
    "ListDataSets": {},
    "ListThemes": {"Type": "ALL"},
    "ListVPCConnections": {},
    "ListFolders": {},
    "ListTopics": {},
    "ListNamespaces": {},
    "ListUsers": {"Namespace": "default"},
    "ListGroups": {"Namespace": "default"},
    "ListCustomPermissions": {},
}


@pytest.mark.parametrize("operation", sorted(MAX_RESULTS_CALLS))
def test_max_results_above_100(qs, checker, operation):
    # Only operations that declare InvalidParameterValueException; botocore checks min=1 itself.
    assert "InvalidParameterValueException" in {e.name for e in checker.operation(operation).error_shapes}
    qs.error(
        operation,
        "InvalidParameterValueException",
        status=400,
        AwsAccountId=ACCOUNT,
        MaxResults=101,
        **MAX_RESULTS_CALLS[operation],
    )


def test_list_themes_custom_and_all(qs, inventory):
    custom = inventory["theme"]
    assert all(t.get("ThemeId") for t in custom)
    every = qs.pages("ListThemes", "ThemeSummaryList", page_size=100, AwsAccountId=ACCOUNT, Type="ALL")
    all_ids = {t["ThemeId"] for t in every}
    assert {t["ThemeId"] for t in custom} <= all_ids
    assert len(every) > len(custom), "Type=ALL must add the built-in themes"
    for theme in every:
        assert theme["Arn"].endswith(f":theme/{theme['ThemeId']}"), theme["Arn"]
    builtin = qs.pages("ListThemes", "ThemeSummaryList", page_size=100, AwsAccountId=ACCOUNT, Type="QUICKSIGHT")
    assert builtin and {t["ThemeId"] for t in builtin} == all_ids - {t["ThemeId"] for t in custom}
    qs.call("DescribeTheme", AwsAccountId=ACCOUNT, ThemeId=builtin[0]["ThemeId"])


# ----- describe every asset ------------------------------------------------------------


def describe_params(kind, summary):
    return {"AwsAccountId": ACCOUNT, kind.id_key: summary[kind.id_key]}


@pytest.mark.parametrize("resource", KIND_IDS)
def test_describe_every_asset(world, resource):
    """All describe bodies of one type, problems gathered across assets."""
    qs = world.qs
    kind = KIND_BY_RESOURCE[resource]
    problems: list[str] = []
    for summary in world.inventory[resource]:
        described, found = qs.checked(kind.describe_op, **describe_params(kind, summary))
        label = f"{kind.describe_op}({summary[kind.id_key]})"
        problems += [f"{label} {p}" for p in found]
        obj = described[kind.describe_key] if kind.describe_key else described
        if obj.get(kind.id_key) != summary[kind.id_key]:
            problems.append(f"{label}: {kind.id_key} {obj.get(kind.id_key)!r} differs from the list")
        if obj.get("Arn") != summary["Arn"]:
            problems.append(f"{label}: Arn {obj.get('Arn')!r} differs from the list {summary['Arn']!r}")
    assert not problems, format_problems(kind.describe_op, problems)


def test_every_data_source_type_is_one_of_the_service_model(world):
    """Real accounts hold only types of the model's DataSourceType enum (an RDS
    source is typed by its engine and carries RdsParameters): a type outside it
    would be a test world no real account can be."""
    model = botocore.session.get_session().get_service_model("quicksight")
    enum = set(model.shape_for("DataSourceType").enum)
    sources = world.inventory["datasource"]
    listed = {s["DataSourceId"]: s.get("Type") for s in sources}
    described = {
        s["DataSourceId"]: world.qs.call("DescribeDataSource", AwsAccountId=ACCOUNT, DataSourceId=s["DataSourceId"])[
            "DataSource"
        ]
        for s in sources
    }
    outside = {i: t for i, t in listed.items() if t not in enum}
    outside.update({i: d.get("Type") for i, d in described.items() if d.get("Type") not in enum})
    assert not outside, f"{world.profile}: data source types outside the model's enum: {outside}"
    rds = [d for d in described.values() if "RdsParameters" in d.get("DataSourceParameters", {})]
    if world.profile == "medium":
        assert rds, "the medium account has RDS data sources"
    for d in rds:
        assert d["Type"] in {"AURORA", "AURORA_POSTGRESQL", "MARIADB", "MYSQL", "ORACLE", "POSTGRESQL", "SQLSERVER"}, d


def test_refresh_schedules_of_every_dataset(world):
    qs = world.qs
    problems: list[str] = []
    counts = []
    for summary in world.inventory["dataset"]:
        parsed, found = qs.checked("ListRefreshSchedules", AwsAccountId=ACCOUNT, DataSetId=summary["DataSetId"])
        problems += [f"ListRefreshSchedules({summary['DataSetId']}) {p}" for p in found]
        counts.append(len(parsed.get("RefreshSchedules", [])))
    assert not problems, format_problems("ListRefreshSchedules", problems)
    assert max(counts) >= 1, "no dataset has a refresh schedule"
    assert max(counts) <= 5, "at most 5 refresh schedules per dataset"


def test_folder_permissions_and_members(world):
    qs = world.qs
    problems: list[str] = []
    member_total = 0
    for folder in world.inventory["folder"]:
        fid = folder["FolderId"]
        perms, found = qs.checked("DescribeFolderPermissions", AwsAccountId=ACCOUNT, FolderId=fid)
        problems += [f"DescribeFolderPermissions({fid}) {p}" for p in found]
        if perms.get("FolderId") != fid:
            problems.append(f"DescribeFolderPermissions({fid}): FolderId {perms.get('FolderId')!r}")
        members = qs.pages("ListFolderMembers", "FolderMemberList", page_size=2, AwsAccountId=ACCOUNT, FolderId=fid)
        member_total += len(members)
    assert not problems, format_problems("folders", problems)
    assert member_total > 0, "no folder has members"
    nested = [f for f in world.inventory["folder"] if f.get("FolderId")]
    described = [qs.call("DescribeFolder", AwsAccountId=ACCOUNT, FolderId=f["FolderId"])["Folder"] for f in nested]
    assert any(d.get("FolderPath") for d in described), f"no nested folder (FolderPath) in the {world.profile} account"


@pytest.mark.parametrize("resource", KIND_IDS)
def test_describe_missing_asset(qs, resource):
    kind = KIND_BY_RESOURCE[resource]
    qs.error(
        kind.describe_op,
        "ResourceNotFoundException",
        status=404,
        AwsAccountId=ACCOUNT,
        **{kind.id_key: "no-such-asset-0000"},
    )


# ----- identities ------------------------------------------------------------------------


def test_namespaces(namespaces):
    assert "default" in namespaces
    assert len(namespaces) >= 2


def test_users_groups_memberships(world):
    qs, namespaces = world.qs, world.namespaces
    problems: list[str] = []
    roles, identity_types, active = set(), set(), set()
    empty_groups = 0
    for ns in namespaces:
        users = qs.pages("ListUsers", "UserList", page_size=100, AwsAccountId=ACCOUNT, Namespace=ns)
        for user in users:
            roles.add(user.get("Role"))
            identity_types.add(user.get("IdentityType"))
            active.add(user.get("Active"))
            parsed, found = qs.checked("DescribeUser", AwsAccountId=ACCOUNT, Namespace=ns, UserName=user["UserName"])
            problems += [f"DescribeUser({ns}/{user['UserName']}) {p}" for p in found]
            if parsed["User"] != user:
                problems.append(f"DescribeUser({ns}/{user['UserName']}): differs from ListUsers entry")
        groups = qs.pages("ListGroups", "GroupList", page_size=100, AwsAccountId=ACCOUNT, Namespace=ns)
        for group in groups:
            name = group["GroupName"]
            parsed, found = qs.checked("DescribeGroup", AwsAccountId=ACCOUNT, Namespace=ns, GroupName=name)
            problems += [f"DescribeGroup({ns}/{name}) {p}" for p in found]
            members = qs.pages(
                "ListGroupMemberships", "GroupMemberList", page_size=100, AwsAccountId=ACCOUNT, Namespace=ns, GroupName=name
            )
            empty_groups += not members
    assert not problems, format_problems("identities", problems)
    assert {"ADMIN", "AUTHOR", "READER"} <= roles, roles
    assert {"IAM", "QUICKSIGHT"} <= identity_types, identity_types
    assert active == {True, False}, "users must include inactive ones"
    assert empty_groups >= 1, "one group has no members"


def test_user_pagination_by_two(qs):
    full = qs.pages("ListUsers", "UserList", page_size=100, AwsAccountId=ACCOUNT, Namespace="default")
    assert len(full) > 2, "too few users to page by two"
    by_two = qs.pages("ListUsers", "UserList", page_size=2, AwsAccountId=ACCOUNT, Namespace="default")
    assert [u["UserName"] for u in by_two] == [u["UserName"] for u in full]


def test_group_memberships_by_two(qs):
    groups = qs.pages("ListGroups", "GroupList", page_size=2, AwsAccountId=ACCOUNT, Namespace="default")
    sizes = {}
    for g in groups:
        sizes[g["GroupName"]] = qs.pages(
            "ListGroupMemberships", "GroupMemberList", page_size=2, AwsAccountId=ACCOUNT, Namespace="default", GroupName=g["GroupName"]
        )
    assert any(len(m) > 2 for m in sizes.values()), "no group big enough to page"


def test_missing_user_and_group(qs):
    qs.error("DescribeUser", "ResourceNotFoundException", status=404, AwsAccountId=ACCOUNT, Namespace="default", UserName="nobody-0000")
    qs.error("DescribeGroup", "ResourceNotFoundException", status=404, AwsAccountId=ACCOUNT, Namespace="default", GroupName="no-group-0000")


def test_identity_writes(qs):
    user_name = unique_id("restored-user")
    group_name = unique_id("restored-group")
    registered = qs.call(
        "RegisterUser",
        AwsAccountId=TARGET_ACCOUNT,
        Namespace="default",
        IdentityType="QUICKSIGHT",
        Email=f"{user_name}@example.com",
        UserRole="READER",
        UserName=user_name,
    )
    assert registered["User"]["UserName"] == user_name
    assert registered["User"]["Role"] == "READER"
    created = qs.call("CreateGroup", AwsAccountId=TARGET_ACCOUNT, Namespace="default", GroupName=group_name, Description="restored")
    assert created["Group"]["GroupName"] == group_name
    member = qs.call(
        "CreateGroupMembership", AwsAccountId=TARGET_ACCOUNT, Namespace="default", GroupName=group_name, MemberName=user_name
    )
    assert member["GroupMember"]["MemberName"] == user_name
    described = qs.call("DescribeUser", AwsAccountId=TARGET_ACCOUNT, Namespace="default", UserName=user_name)
    assert described["User"]["Email"] == f"{user_name}@example.com"
    qs.call("DescribeGroup", AwsAccountId=TARGET_ACCOUNT, Namespace="default", GroupName=group_name)
    members = qs.pages(
        "ListGroupMemberships", "GroupMemberList", AwsAccountId=TARGET_ACCOUNT, Namespace="default", GroupName=group_name
    )
    assert [m["MemberName"] for m in members] == [user_name]
    qs.error(
        "CreateGroup", "ResourceExistsException", status=409, AwsAccountId=TARGET_ACCOUNT, Namespace="default", GroupName=group_name
    )
    qs.error(
        "RegisterUser",
        "ResourceExistsException",
        status=409,
        AwsAccountId=TARGET_ACCOUNT,
        Namespace="default",
        IdentityType="QUICKSIGHT",
        Email=f"{user_name}@example.com",
        UserRole="READER",
        UserName=user_name,
    )


def test_namespace_writes(qs):
    name = unique_id("restored-ns")
    created = qs.call("CreateNamespace", AwsAccountId=TARGET_ACCOUNT, Namespace=name, IdentityStore="QUICKSIGHT")
    assert created["Name"] == name
    assert created["CreationStatus"] in ("CREATING", "CREATED")
    described = qs.call("DescribeNamespace", AwsAccountId=TARGET_ACCOUNT, Namespace=name)
    assert described["Namespace"]["Name"] == name
    assert described["Namespace"]["CreationStatus"] == "CREATED"
    qs.error("CreateNamespace", "ResourceExistsException", status=409, AwsAccountId=TARGET_ACCOUNT, Namespace=name, IdentityStore="QUICKSIGHT")
    qs.error("DescribeNamespace", "ResourceNotFoundException", status=404, AwsAccountId=TARGET_ACCOUNT, Namespace=unique_id("missing"))


# ----- account configuration ----------------------------------------------------------


def test_account_settings_and_customization(qs, namespaces):
    settings = qs.call("DescribeAccountSettings", AwsAccountId=ACCOUNT)["AccountSettings"]
    assert settings.get("AccountName")
    customized = 0
    # Without a namespace the call means `default`; a namespace without its own
    # customization answers ResourceNotFoundException, checked on the wire too.
    for ns in [None, *namespaces]:
        params = {"AwsAccountId": ACCOUNT} if ns is None else {"AwsAccountId": ACCOUNT, "Namespace": ns}
        found, err = qs.attempt("DescribeAccountCustomization", **params)
        if err is None:
            customized += 1
            assert found.get("AccountCustomization"), found
        else:
            assert err.response["Error"]["Code"] == "ResourceNotFoundException"
        # Resolved=True falls back to what applies, so it always answers.
        resolved = qs.call("DescribeAccountCustomization", Resolved=True, **params)
        assert resolved.get("AccountCustomization"), resolved
    assert customized, "no namespace of the small account has a customization"
    qs.error("DescribeAccountCustomization", "ResourceNotFoundException", status=404, AwsAccountId=ACCOUNT, Namespace="no-such-ns")


def test_brands(qs):
    brands = qs.pages("ListBrands", "Brands", page_size=100, AwsAccountId=ACCOUNT)
    assert brands, "the small account has brands"
    by_one = qs.pages("ListBrands", "Brands", page_size=1, AwsAccountId=ACCOUNT)
    assert [b["BrandId"] for b in by_one] == [b["BrandId"] for b in brands]
    for brand in brands:
        described = qs.call("DescribeBrand", AwsAccountId=ACCOUNT, BrandId=brand["BrandId"])
        assert described["BrandDetail"]["BrandId"] == brand["BrandId"]


def test_brand_errors(qs):
    qs.error("DescribeBrand", "ResourceNotFoundException", status=404, AwsAccountId=ACCOUNT, BrandId="no-such-brand")
    # The brand APIs declare InvalidRequestException for bad input, not InvalidParameterValueException.
    _, err = qs.attempt("ListBrands", AwsAccountId=ACCOUNT, MaxResults=101)
    assert err is not None and err.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_custom_permissions(qs):
    profiles = qs.pages("ListCustomPermissions", "CustomPermissionsList", page_size=100, AwsAccountId=ACCOUNT)
    assert profiles, "the small account has custom permissions"
    by_one = qs.pages("ListCustomPermissions", "CustomPermissionsList", page_size=1, AwsAccountId=ACCOUNT)
    assert [p["CustomPermissionsName"] for p in by_one] == [p["CustomPermissionsName"] for p in profiles]


# ----- export and import ------------------------------------------------------------


@pytest.fixture(scope="module")
def whole_export(qs, inventory):
    """The whole small account exported, unexportable assets isolated on the way."""
    arns = [a["Arn"] for kind in ASSET_KINDS for a in inventory[kind.resource]]
    return export_until_successful(qs, arns)


def test_export_whole_account(qs, whole_export):
    described = whole_export.described
    assert described["JobStatus"] == "SUCCESSFUL"
    assert described["AssetBundleExportJobId"] == whole_export.job_id
    assert sorted(described["ResourceArns"]) == sorted(whole_export.arns)
    assert described["DownloadUrl"]
    assert whole_export.refused_at_start, "the small account has unsupported assets"
    assert whole_export.failed_in_job, "the small account has assets with definition errors"
    for arn, entry in whole_export.failed_in_job.items():
        assert entry.get("Type") and entry.get("Message"), entry


def test_export_bundle_layout(whole_export):
    members = bundle_members(whole_export.bundle)
    assert not bundle_layout_problems(members), "\n".join(bundle_layout_problems(members))
    for arn in whole_export.arns:
        _, _, resource, res_id = parse_arn(arn)
        assert f"{resource}/{res_id}.json" in members, f"{arn} has no bundle member"
    assert any(name.startswith("refreshSchedule/") for name in members)
    assert len(whole_export.bundle) > 100_000, "definitions are of realistic size"


def test_list_export_jobs(qs, whole_export):
    jobs = qs.pages("ListAssetBundleExportJobs", "AssetBundleExportJobSummaryList", page_size=2, AwsAccountId=ACCOUNT)
    ours = [j for j in jobs if j["AssetBundleExportJobId"] == whole_export.job_id]
    assert len(ours) == 1 and ours[0]["JobStatus"] == "SUCCESSFUL"
    qs.error(
        "DescribeAssetBundleExportJob",
        "ResourceNotFoundException",
        status=404,
        AwsAccountId=ACCOUNT,
        AssetBundleExportJobId="no-such-job-0000",
    )


def test_cloudformation_export(qs, inventory):
    theme_arn = inventory["theme"][0]["Arn"]
    job_id = unique_id("qs-test-cfn")
    qs.call(
        "StartAssetBundleExportJob",
        AwsAccountId=ACCOUNT,
        AssetBundleExportJobId=job_id,
        ResourceArns=[theme_arn],
        ExportFormat="CLOUDFORMATION_JSON",
        IncludeAllDependencies=False,
        CloudFormationOverridePropertyConfiguration={
            "ResourceIdOverrideConfiguration": {"PrefixForAllResources": True},
            "Themes": [{"Arn": theme_arn, "Properties": ["Name"]}],
        },
    )
    described, _ = wait_job(qs, "export", ACCOUNT, job_id)
    assert described["JobStatus"] == "SUCCESSFUL", described.get("Errors")
    assert described["ExportFormat"] == "CLOUDFORMATION_JSON"
    assert described["CloudFormationOverridePropertyConfiguration"]["Themes"][0]["Arn"] == theme_arn


def import_bundle(qs, bundle: bytes, account: str = TARGET_ACCOUNT, **options) -> tuple[str, dict]:
    job_id = unique_id("qs-test-import")
    qs.call(
        "StartAssetBundleImportJob",
        AwsAccountId=account,
        AssetBundleImportJobId=job_id,
        AssetBundleImportSource={"Body": bundle},
        FailureAction="ROLLBACK",
        **options,
    )
    described, _ = wait_job(qs, "import", account, job_id)
    return job_id, described


def test_import_with_source_principals_rolls_back(qs, whole_export):
    """The whole-account bundle carries permissions for principals of the source
    account; the empty target knows none of them, so the import rolls back."""
    def target_state():
        return {k.resource: sorted(a[k.id_key] for a in list_assets(qs, k, account=TARGET_ACCOUNT)) for k in ASSET_KINDS}

    before = target_state()
    _, described = import_bundle(qs, whole_export.bundle)
    assert described["JobStatus"] == "FAILED_ROLLBACK_COMPLETED", described["JobStatus"]
    assert described.get("Errors"), described
    assert target_state() == before, "the rollback left assets behind"


@pytest.fixture(scope="module")
def imported(qs, whole_export):
    """The exportable assets, without permissions, imported into the empty account.

    Assets whose dependencies could not be exported fail the import with
    DEPENDENCY_NOT_FOUND; they are left out and the rest imported again, as a
    restore does.
    """
    arns = list(whole_export.arns)
    left_out: dict[str, dict] = {}
    for _ in range(10):
        export = export_until_successful(qs, arns, IncludePermissions=False)
        assert sorted(export.arns) == sorted(arns), "an export without permissions dropped assets"
        job_id, described = import_bundle(qs, export.bundle)
        if described["JobStatus"] == "SUCCESSFUL":
            return job_id, described, export, left_out
        assert described["JobStatus"] == "FAILED_ROLLBACK_COMPLETED", described
        errors = described.get("Errors", [])
        source_arns = {e["Arn"].replace(f":{TARGET_ACCOUNT}:", f":{ACCOUNT}:"): e for e in errors}
        named = set(source_arns) & set(arns)
        assert named, f"import failed without naming a bundled asset: {errors}"
        left_out.update({a: source_arns[a] for a in named})
        arns = [a for a in arns if a not in named]
    raise AssertionError("no successful import after 10 rounds")


def test_import_into_second_account(qs, imported):
    job_id, described, export, left_out = imported
    assert described["JobStatus"] == "SUCCESSFUL", described.get("Errors")
    for arn, error in left_out.items():
        assert error["Type"] == "DEPENDENCY_NOT_FOUND", (arn, error)
    assert described["AssetBundleImportJobId"] == job_id
    assert described["FailureAction"] == "ROLLBACK"
    members = bundle_members(export.bundle)
    problems: list[str] = []
    for kind in ASSET_KINDS:
        want = {name.split("/", 1)[1][:-5] for name in members if name.startswith(kind.resource + "/")}
        listed = list_assets(qs, kind, account=TARGET_ACCOUNT, page_size=2)
        got = {a[kind.id_key] for a in listed}
        if want - got:
            problems.append(f"{kind.list_op}: imported ids missing in {TARGET_ACCOUNT}: {sorted(want - got)}")
        for summary in listed:
            region, account, _, _ = parse_arn(summary["Arn"])
            if account != TARGET_ACCOUNT:
                problems.append(f"{kind.list_op}: ARN {summary['Arn']} not rewritten to {TARGET_ACCOUNT}")
            described_asset, found = qs.checked(
                kind.describe_op, AwsAccountId=TARGET_ACCOUNT, **{kind.id_key: summary[kind.id_key]}
            )
            problems += [f"{kind.describe_op}({TARGET_ACCOUNT}/{summary[kind.id_key]}) {p}" for p in found]
    assert not problems, format_problems("import", problems)


def test_imported_asset_matches_source(qs, inventory, imported):
    """A described dashboard in the target account names the same things as in the source."""
    _, described, _, _ = imported
    assert described["JobStatus"] == "SUCCESSFUL"
    target_ids = {d["DashboardId"] for d in list_assets(qs, KIND_BY_RESOURCE["dashboard"], account=TARGET_ACCOUNT)}
    shared = [d for d in inventory["dashboard"] if d["DashboardId"] in target_ids]
    assert shared
    source = qs.call("DescribeDashboard", AwsAccountId=ACCOUNT, DashboardId=shared[0]["DashboardId"])["Dashboard"]
    target = qs.call("DescribeDashboard", AwsAccountId=TARGET_ACCOUNT, DashboardId=shared[0]["DashboardId"])["Dashboard"]
    assert target["Name"] == source["Name"]
    assert f":{TARGET_ACCOUNT}:" in target["Arn"]


def test_import_of_a_body_that_is_not_a_bundle(qs):
    """Refused at start with a declared 400 error, or a job that ends FAILED with Errors."""
    job_id = unique_id("qs-test-garbage")
    started, err = qs.attempt(
        "StartAssetBundleImportJob",
        AwsAccountId=TARGET_ACCOUNT,
        AssetBundleImportJobId=job_id,
        AssetBundleImportSource={"Body": b"this is not a zip file"},
        FailureAction="ROLLBACK",
    )
    if err is not None:
        assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 400, err.response
        return
    described, _ = wait_job(qs, "import", TARGET_ACCOUNT, job_id)
    assert described["JobStatus"].startswith("FAILED"), described["JobStatus"]
    assert described.get("Errors"), described


def test_describe_missing_import_job(qs):
    qs.error(
        "DescribeAssetBundleImportJob",
        "ResourceNotFoundException",
        status=404,
        AwsAccountId=TARGET_ACCOUNT,
        AssetBundleImportJobId="no-such-job-0000",
    )
