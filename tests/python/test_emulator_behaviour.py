"""Quotas and faults of qs-emulator, asserted on the wire: status codes, error codes
(`x-amzn-ErrorType`), error bodies, and the admin API's statistics."""

from __future__ import annotations

import http.client
import json
import re
import urllib.error
import urllib.request

import pytest

from qs_helpers import (
    ACCOUNT,
    KIND_BY_RESOURCE,
    TARGET_ACCOUNT,
    http_get,
    list_assets,
    start_export,
    unique_id,
    wait_job,
)
from shape_check import format_problems

UNSUPPORTED_DATA_SOURCE_TYPES = {"ADOBE_ANALYTICS", "GITHUB", "JIRA", "SALESFORCE", "SERVICENOW", "TWITTER"}
VPC_ID_RE = r"^[\w\-]+$"


@pytest.fixture(scope="module")
def themes(qs) -> list[str]:
    """ARNs of custom themes: small, dependency-free, always exportable."""
    found = list_assets(qs, KIND_BY_RESOURCE["theme"])
    assert found, "the small account has custom themes"
    return [t["Arn"] for t in found]


@pytest.fixture(scope="module")
def data_sources(qs) -> list[dict]:
    summaries = list_assets(qs, KIND_BY_RESOURCE["datasource"])
    return [qs.call("DescribeDataSource", AwsAccountId=ACCOUNT, DataSourceId=s["DataSourceId"])["DataSource"] for s in summaries]


@pytest.fixture(scope="module")
def data_sets(qs) -> list[dict]:
    summaries = list_assets(qs, KIND_BY_RESOURCE["dataset"])
    return [qs.call("DescribeDataSet", AwsAccountId=ACCOUNT, DataSetId=s["DataSetId"])["DataSet"] for s in summaries]


def wait_all(qs, kind, account, job_ids, timeout=120.0):
    return {job_id: wait_job(qs, kind, account, job_id, timeout)[0] for job_id in job_ids}


# ----- authentication and regions --------------------------------------------------------


def test_unsigned_request_is_refused(emulator, checker):
    req = urllib.request.Request(f"{emulator.endpoint}/accounts/{ACCOUNT}/data-sources", method="GET")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            status, headers, body = resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        status, headers, body = err.code, dict(err.headers), err.read()
    assert status == 403, f"unsigned request answered {status}: {body[:300]!r}"
    code = {k.lower(): v for k, v in headers.items()}.get("x-amzn-errortype", "")
    assert code.split(":")[0] == "MissingAuthenticationTokenException", headers
    problems = checker.check_error("ListDataSources", status, headers, body)
    assert not problems, format_problems("unsigned ListDataSources", problems)
    assert "DataSources" not in json.loads(body)


IDENTITY_CALLS = [
    ("ListUsers", {"Namespace": "default"}),
    ("ListGroups", {"Namespace": "default"}),
    ("DescribeUser", {"Namespace": "default", "UserName": "any-user"}),
    ("DescribeGroup", {"Namespace": "default", "GroupName": "any-group"}),
    ("ListGroupMemberships", {"Namespace": "default", "GroupName": "any-group"}),
    (
        "RegisterUser",
        {"Namespace": "default", "IdentityType": "QUICKSIGHT", "Email": "x@example.com", "UserRole": "READER", "UserName": "x"},
    ),
    ("CreateGroup", {"Namespace": "default", "GroupName": "wrong-region-group"}),
    ("CreateGroupMembership", {"Namespace": "default", "GroupName": "g", "MemberName": "m"}),
]


@pytest.mark.parametrize("operation, params", IDENTITY_CALLS, ids=[c[0] for c in IDENTITY_CALLS])
def test_identity_apis_outside_identity_region(make_client, operation, params):
    west = make_client("us-west-2")
    err = west.error(operation, "AccessDeniedException", status=401, AwsAccountId=ACCOUNT, **params)
    assert "us-east-1" in err.response["Error"]["Message"], err.response["Error"]["Message"]


def test_identity_apis_in_identity_region_still_work(qs):
    qs.call("ListUsers", AwsAccountId=ACCOUNT, Namespace="default", MaxResults=1)


# ----- export quotas ---------------------------------------------------------------------


def test_more_than_100_arns(qs, themes):
    arns = [f"arn:aws:quicksight:us-east-1:{ACCOUNT}:dashboard/not-real-{i}" for i in range(100)] + themes[:1]
    assert len(arns) == 101
    err = qs.error(
        "StartAssetBundleExportJob",
        "InvalidParameterValueException",
        status=400,
        AwsAccountId=ACCOUNT,
        AssetBundleExportJobId=unique_id("qs-test-101"),
        ResourceArns=arns,
        ExportFormat="QUICKSIGHT_JSON",
    )
    assert err.response["Error"]["Message"]


def test_empty_arn_list(make_client):
    # botocore enforces min=1 itself; switch its validation off to reach the server.
    lax = make_client(parameter_validation=False)
    lax.error(
        "StartAssetBundleExportJob",
        "InvalidParameterValueException",
        status=400,
        AwsAccountId=ACCOUNT,
        AssetBundleExportJobId=unique_id("qs-test-0"),
        ResourceArns=[],
        ExportFormat="QUICKSIGHT_JSON",
    )


def test_sixth_concurrent_export_is_refused(qs, emulator, faults, themes):
    faults({"job_delay_ms": 5000})
    emulator.reset_stats()
    started = []
    try:
        job_id, err = start_export(qs, themes[:1])
        assert err is None, err
        started.append(job_id)
        # A job id is unique while its job runs.
        qs.error(
            "StartAssetBundleExportJob",
            "ConflictException",
            status=409,
            AwsAccountId=ACCOUNT,
            AssetBundleExportJobId=job_id,
            ResourceArns=themes[:1],
            ExportFormat="QUICKSIGHT_JSON",
        )
        for _ in range(4):
            job_id, err = start_export(qs, themes[:1])
            assert err is None, err
            started.append(job_id)
        running = [
            qs.call("DescribeAssetBundleExportJob", AwsAccountId=ACCOUNT, AssetBundleExportJobId=j)["JobStatus"]
            for j in started
        ]
        assert all(s in ("QUEUED_FOR_IMMEDIATE_EXECUTION", "IN_PROGRESS") for s in running), running
        qs.error(
            "StartAssetBundleExportJob",
            "LimitExceededException",
            status=409,
            AwsAccountId=ACCOUNT,
            AssetBundleExportJobId=unique_id("qs-test-sixth"),
            ResourceArns=themes[:1],
            ExportFormat="QUICKSIGHT_JSON",
        )
        assert emulator.stats(ACCOUNT)["peak_concurrent_export_jobs"] == 5
    finally:
        finished = wait_all(qs, "export", ACCOUNT, started)
    assert all(d["JobStatus"] == "SUCCESSFUL" for d in finished.values())
    # Once they finish, the id of a finished job can be used again.
    job_id, err = start_export(qs, themes[:1], AssetBundleExportJobId=started[0])
    assert err is None, err
    wait_job(qs, "export", ACCOUNT, started[0])


def test_sixth_concurrent_import_is_refused(qs, emulator, faults, themes):
    # Without permissions: the target account has none of the source's principals.
    job_id, err = start_export(qs, themes[:1], IncludePermissions=False)
    assert err is None
    described, _ = wait_job(qs, "export", ACCOUNT, job_id)
    status, bundle = http_get(described["DownloadUrl"])
    assert status == 200
    faults({"job_delay_ms": 5000})
    started = []
    try:
        for _ in range(5):
            import_id = unique_id("qs-test-import")
            qs.call(
                "StartAssetBundleImportJob",
                AwsAccountId=TARGET_ACCOUNT,
                AssetBundleImportJobId=import_id,
                AssetBundleImportSource={"Body": bundle},
                FailureAction="DO_NOTHING",
            )
            started.append(import_id)
        qs.error(
            "StartAssetBundleImportJob",
            "LimitExceededException",
            status=409,
            AwsAccountId=TARGET_ACCOUNT,
            AssetBundleImportJobId=unique_id("qs-test-import-sixth"),
            AssetBundleImportSource={"Body": bundle},
            FailureAction="DO_NOTHING",
        )
    finally:
        finished = wait_all(qs, "import", TARGET_ACCOUNT, started)
    assert all(d["JobStatus"] == "SUCCESSFUL" for d in finished.values()), finished


# ----- unsupported assets and definition errors ------------------------------------------


def unsupported_data_sources(data_sources: list[dict]) -> dict[str, str]:
    """ARN -> why, for data sources QuickSight refuses to export."""
    found = {}
    for ds in data_sources:
        params = ds.get("DataSourceParameters", {})
        vpc = ds.get("VpcConnectionProperties", {}).get("VpcConnectionArn", "")
        if ds["Type"] in UNSUPPORTED_DATA_SOURCE_TYPES:
            found[ds["Arn"]] = ds["Type"]
        elif ds["Type"] == "S3" and "S3Parameters" not in params:
            found[ds["Arn"]] = "S3 from a local manifest"
        elif vpc and not re.match(VPC_ID_RE, vpc.rsplit("/", 1)[-1]):
            found[ds["Arn"]] = f"invalid VPC connection id in {vpc}"
    return found


def file_data_sets(data_sets: list[dict], data_sources: list[dict]) -> list[str]:
    listed = {ds["Arn"] for ds in data_sources}
    found = []
    for ds in data_sets:
        for table in ds.get("PhysicalTableMap", {}).values():
            s3 = table.get("S3Source")
            if s3 and "UploadSettings" in s3 and s3.get("DataSourceArn") not in listed:
                found.append(ds["Arn"])
                break
    return found


def test_unsupported_data_sources_are_refused_at_start(qs, data_sources, themes):
    unsupported = unsupported_data_sources(data_sources)
    assert any(why in UNSUPPORTED_DATA_SOURCE_TYPES for why in unsupported.values()), (
        "the small account has data sources of unsupported types"
    )
    for arn, why in unsupported.items():
        # Mixed with an exportable theme: the message names the culprit only.
        job_id, err = start_export(qs, [themes[0], arn])
        assert err is not None, f"{arn} ({why}) was accepted"
        assert err.response["Error"]["Code"] == "InvalidParameterValueException"
        message = err.response["Error"]["Message"]
        assert arn in message, f"message does not name {arn} ({why}): {message}"
        assert themes[0] not in message, f"message names the exportable theme: {message}"


def test_file_data_sets_are_refused_at_start(qs, data_sets, data_sources):
    files = file_data_sets(data_sets, data_sources)
    assert files, "the small account has uploaded-file datasets (S3Source with UploadSettings)"
    for arn in files:
        _, err = start_export(qs, [arn])
        assert err is not None, f"FILE dataset {arn} was accepted"
        assert err.response["Error"]["Code"] == "InvalidParameterValueException"
        assert arn in err.response["Error"]["Message"]


def test_definition_error_fails_the_job_naming_the_asset(qs):
    failed, succeeded = {}, []
    for resource in ("dashboard", "analysis"):
        for summary in list_assets(qs, KIND_BY_RESOURCE[resource]):
            arn = summary["Arn"]
            job_id, err = start_export(qs, [arn])
            if err is not None:
                continue  # refused up front (e.g. depends on nothing exportable); not this test
            described, _ = wait_job(qs, "export", ACCOUNT, job_id)
            if described["JobStatus"] == "FAILED":
                failed[arn] = described
            else:
                succeeded.append(described)
    assert failed, "no dashboard or analysis with a definition error in the small account"
    for arn, described in failed.items():
        errors = described.get("Errors", [])
        assert [e["Arn"] for e in errors] == [arn], errors
        assert errors[0]["Message"] and errors[0]["Type"]
        assert "DownloadUrl" not in described
    for described in succeeded:
        assert not described.get("Errors")


def test_forced_job_failure(qs, faults, themes):
    faults({"fail_export_jobs": 1.0})
    job_id, err = start_export(qs, themes[:1])
    assert err is None
    described, _ = wait_job(qs, "export", ACCOUNT, job_id)
    assert described["JobStatus"] == "FAILED"
    assert described.get("Errors"), described


# ----- download URLs ---------------------------------------------------------------------


def test_expired_download_url(qs, emulator, themes):
    job_id, err = start_export(qs, themes[:1])
    assert err is None
    described, _ = wait_job(qs, "export", ACCOUNT, job_id)
    assert described["JobStatus"] == "SUCCESSFUL"
    first = described["DownloadUrl"]
    assert emulator.expire_downloads() >= 1
    status, _ = http_get(first)
    assert status == 403, f"an expired URL answered {status}"
    fresh = qs.call("DescribeAssetBundleExportJob", AwsAccountId=ACCOUNT, AssetBundleExportJobId=job_id)["DownloadUrl"]
    assert fresh != first
    status, body = http_get(fresh)
    assert status == 200 and body[:2] == b"PK", status


def test_dropped_download(qs, faults, themes):
    job_id, err = start_export(qs, themes[:1])
    assert err is None
    described, _ = wait_job(qs, "export", ACCOUNT, job_id)
    _, whole = http_get(described["DownloadUrl"])
    faults({"drop_download": 1.0})
    url = qs.call("DescribeAssetBundleExportJob", AwsAccountId=ACCOUNT, AssetBundleExportJobId=job_id)["DownloadUrl"]
    try:
        status, partial = http_get(url)
    except (http.client.IncompleteRead, ConnectionError, urllib.error.URLError):
        return  # the connection broke mid-body, as intended
    assert not (status == 200 and partial == whole), "a dropped download delivered the whole bundle"


# ----- injected API faults and statistics ------------------------------------------------


def test_throttling_is_429_and_counted(qs, emulator, faults):
    emulator.reset_stats()
    stats = emulator.stats()
    assert not any(stats.get("throttled", {}).values())
    faults({"throttle": {"ListDataSources": 1.0}})
    qs.error("ListDataSources", "ThrottlingException", status=429, AwsAccountId=ACCOUNT)
    qs.error("ListDataSources", "ThrottlingException", status=429, AwsAccountId=ACCOUNT)
    qs.call("ListDataSets", AwsAccountId=ACCOUNT, MaxResults=1)
    stats = emulator.stats()
    assert stats["throttled"].get("ListDataSources") == 2, stats
    assert not stats["throttled"].get("ListDataSets"), stats
    assert stats["calls"].get("ListDataSets") == 1, stats


def test_stats_count_calls_and_reset(qs, emulator):
    emulator.reset_stats()
    for _ in range(3):
        qs.call("ListDashboards", AwsAccountId=ACCOUNT, MaxResults=1)
    stats = emulator.stats()
    assert stats["calls"].get("ListDashboards") == 3, stats
    for key in (
        "peak_concurrent_export_jobs",
        "peak_concurrent_import_jobs",
        "export_job_seconds",
        "max_export_job_seconds",
        "import_job_seconds",
        "max_import_job_seconds",
    ):
        assert isinstance(stats.get(key), (int, float)), (key, stats)
    emulator.reset_stats()
    assert not emulator.stats()["calls"].get("ListDashboards")


SERVER_ERROR_CALLS = {
    "ListUsers": {"Namespace": "default"},  # declares both 500 and 503 errors
    "ListDataSources": {},  # declares InternalFailureException only
    "ListBrands": {},  # declares InternalServerException only
}


@pytest.mark.parametrize("operation", sorted(SERVER_ERROR_CALLS))
def test_server_errors_are_declared_5xx(qs, checker, faults, operation):
    faults({"seed": 3, "server_error": {operation: 1.0}})
    codes = set()
    for _ in range(8):
        _, err = qs.attempt(operation, AwsAccountId=ACCOUNT, **SERVER_ERROR_CALLS[operation])
        assert err is not None
        assert err.response["ResponseMetadata"]["HTTPStatusCode"] in (500, 503)
        codes.add(err.response["Error"]["Code"])
    assert codes


def test_denied_operation(qs, faults):
    faults({"deny": ["ListNamespaces"]})
    qs.error("ListNamespaces", "AccessDeniedException", status=401, AwsAccountId=ACCOUNT)


def test_forced_limit_exceeded(qs, faults, themes):
    faults({"limit_exceeded": {"StartAssetBundleExportJob": 1.0}})
    qs.error(
        "StartAssetBundleExportJob",
        "LimitExceededException",
        status=409,
        AwsAccountId=ACCOUNT,
        AssetBundleExportJobId=unique_id("qs-test-limit"),
        ResourceArns=themes[:1],
        ExportFormat="QUICKSIGHT_JSON",
    )


def test_bad_fault_plan_is_rejected(emulator):
    status, _ = emulator.admin("PUT", "/_emulator/faults", {"no_such_fault": 1})
    assert status >= 400
