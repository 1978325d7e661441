"""Helpers shared by the emulator tests: asset tables, job polling, exports, bundles."""

from __future__ import annotations

import io
import json
import re
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from dataclasses import dataclass, field

ACCOUNT = "123456789012"
TARGET_ACCOUNT = "210987654321"


@dataclass(frozen=True)
class AssetKind:
    """How one asset type is listed and described."""

    resource: str  # ARN resource part and bundle folder
    list_op: str
    list_key: str
    id_key: str  # id member in summaries and describe requests
    describe_op: str
    describe_key: str | None  # member holding the described object
    bundle_id_field: str
    list_params: tuple = ()


ASSET_KINDS = [
    AssetKind("datasource", "ListDataSources", "DataSources", "DataSourceId", "DescribeDataSource", "DataSource", "dataSourceId"),
    AssetKind("dataset", "ListDataSets", "DataSetSummaries", "DataSetId", "DescribeDataSet", "DataSet", "dataSetId"),
    AssetKind("analysis", "ListAnalyses", "AnalysisSummaryList", "AnalysisId", "DescribeAnalysis", "Analysis", "analysisId"),
    AssetKind("dashboard", "ListDashboards", "DashboardSummaryList", "DashboardId", "DescribeDashboard", "Dashboard", "dashboardId"),
    AssetKind("theme", "ListThemes", "ThemeSummaryList", "ThemeId", "DescribeTheme", "Theme", "themeId", (("Type", "CUSTOM"),)),
    AssetKind("vpcConnection", "ListVPCConnections", "VPCConnectionSummaries", "VPCConnectionId", "DescribeVPCConnection", "VPCConnection", "vpcConnectionId"),
    AssetKind("folder", "ListFolders", "FolderSummaryList", "FolderId", "DescribeFolder", "Folder", "folderId"),
    AssetKind("topic", "ListTopics", "TopicsSummaries", "TopicId", "DescribeTopic", None, "topicId"),
]
KIND_BY_RESOURCE = {k.resource: k for k in ASSET_KINDS}

BUNDLE_FOLDERS = set(KIND_BY_RESOURCE) | {"refreshSchedule"}
MEMBER_RE = re.compile(r"^([A-Za-z]+)/([^/]+)\.json$")
ARN_RE = re.compile(r"^arn:aws:quicksight:([a-z0-9-]+):(\d{12}):([A-Za-z]+)/(.+)$")

EXPORT_TERMINAL = {"SUCCESSFUL", "FAILED"}
IMPORT_TERMINAL = {"SUCCESSFUL", "FAILED", "FAILED_ROLLBACK_COMPLETED", "FAILED_ROLLBACK_ERROR"}


def unique_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def parse_arn(arn: str) -> tuple[str, str, str, str]:
    match = ARN_RE.match(arn)
    assert match, f"not a QuickSight ARN: {arn!r}"
    return match.group(1), match.group(2), match.group(3), match.group(4)


def list_assets(qs, kind: AssetKind, account: str = ACCOUNT, page_size: int | None = 100) -> list[dict]:
    return qs.pages(kind.list_op, kind.list_key, page_size=page_size, AwsAccountId=account, **dict(kind.list_params))


def wait_job(qs, kind: str, account: str, job_id: str, timeout: float = 120.0) -> tuple[dict, list[dict]]:
    """Poll an export or import job to a terminal state, validating every describe.

    Returns the final parsed describe and every raw describe body seen.
    """
    if kind == "export":
        op, id_param, terminal = "DescribeAssetBundleExportJob", "AssetBundleExportJobId", EXPORT_TERMINAL
    else:
        op, id_param, terminal = "DescribeAssetBundleImportJob", "AssetBundleImportJobId", IMPORT_TERMINAL
    deadline = time.monotonic() + timeout
    bodies = []
    while True:
        described = qs.call(op, AwsAccountId=account, **{id_param: job_id})
        bodies.append(qs.raw_json())
        if described["JobStatus"] in terminal:
            return described, bodies
        assert time.monotonic() < deadline, f"{kind} job {job_id} still {described['JobStatus']} after {timeout}s"
        time.sleep(0.2)


def start_export(qs, arns: list[str], account: str = ACCOUNT, **options):
    """Start an export; return (job_id, None) or (job_id, ClientError)."""
    job_id = options.pop("AssetBundleExportJobId", None) or unique_id("qs-test-export")
    params = dict(
        AwsAccountId=account,
        AssetBundleExportJobId=job_id,
        ResourceArns=arns,
        ExportFormat="QUICKSIGHT_JSON",
        IncludeAllDependencies=False,
        IncludePermissions=True,
        IncludeTags=True,
    )
    params.update(options)
    started, err = qs.attempt("StartAssetBundleExportJob", **params)
    if err is None:
        assert started["AssetBundleExportJobId"] == job_id
    return job_id, err


@dataclass
class ExportOutcome:
    job_id: str
    described: dict
    arns: list[str]
    refused_at_start: dict[str, str] = field(default_factory=dict)  # arn -> message
    failed_in_job: dict[str, dict] = field(default_factory=dict)  # arn -> Errors entry
    bundle: bytes = b""


def export_until_successful(qs, arns: list[str], account: str = ACCOUNT, attempts: int = 40, **options) -> ExportOutcome:
    """Export `arns`, dropping what the start call refuses and what the job fails on.

    The way a backup isolates unexportable assets; every drop is recorded with
    the message that named it.
    """
    remaining = list(arns)
    refused: dict[str, str] = {}
    failed: dict[str, dict] = {}
    for _ in range(attempts):
        assert remaining, "every asset was refused or failed"
        job_id, err = start_export(qs, remaining, account, **options)
        if err is not None:
            code = err.response["Error"]["Code"]
            message = err.response["Error"]["Message"]
            assert code == "InvalidParameterValueException", f"start refused with {code}: {message}"
            named = [a for a in remaining if a in message]
            assert named, f"InvalidParameterValueException names none of the requested ARNs: {message}"
            for arn in named:
                refused[arn] = message
            remaining = [a for a in remaining if a not in named]
            continue
        described, _ = wait_job(qs, "export", account, job_id)
        if described["JobStatus"] == "SUCCESSFUL":
            outcome = ExportOutcome(job_id, described, remaining, refused, failed)
            outcome.bundle = download(described["DownloadUrl"])
            return outcome
        errors = described.get("Errors", [])
        named = {e.get("Arn") for e in errors} & set(remaining)
        assert named, f"export job {job_id} FAILED without naming a requested ARN: {errors}"
        for e in errors:
            if e.get("Arn") in named:
                failed[e["Arn"]] = e
        remaining = [a for a in remaining if a not in named]
    raise AssertionError(f"no successful export after {attempts} attempts")


def http_get(url: str, timeout: float = 60) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def download(url: str) -> bytes:
    status, body = http_get(url)
    assert status == 200, f"download answered {status}: {body[:300]!r}"
    return body


def bundle_members(bundle: bytes) -> dict[str, dict]:
    """`{"<folder>/<id>.json": parsed JSON}` of a QUICKSIGHT_JSON bundle."""
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        bad = archive.testzip()
        assert bad is None, f"corrupt zip member {bad}"
        return {name: json.loads(archive.read(name)) for name in archive.namelist() if not name.endswith("/")}


def bundle_layout_problems(members: dict[str, dict]) -> list[str]:
    """What in a QUICKSIGHT_JSON bundle breaks the layout QUICKSIGHT_FACTS.md gives."""
    problems = []
    for name, obj in members.items():
        match = MEMBER_RE.match(name)
        if not match:
            problems.append(f"{name}: not <resourceType>/<id>.json")
            continue
        folder, member_id = match.groups()
        if folder not in BUNDLE_FOLDERS:
            problems.append(f"{name}: unknown folder {folder!r}")
            continue
        if not isinstance(obj, dict):
            problems.append(f"{name}: not a JSON object")
            continue
        if obj.get("resourceType") != folder:
            problems.append(f"{name}: resourceType {obj.get('resourceType')!r}, expected {folder!r}")
        if folder == "refreshSchedule":
            if not isinstance(obj.get("dataSetId"), str):
                problems.append(f"{name}: refresh schedule without dataSetId")
            schedule = obj.get("schedule")
            if not isinstance(schedule, dict) or not isinstance(schedule.get("scheduleId"), str):
                problems.append(f"{name}: refresh schedule without schedule.scheduleId")
        else:
            id_field = KIND_BY_RESOURCE[folder].bundle_id_field
            if obj.get(id_field) != member_id:
                problems.append(f"{name}: {id_field} is {obj.get(id_field)!r}, expected {member_id!r}")
        perms = obj.get("permissions")
        if perms is not None:
            if not isinstance(perms, list) or not all(
                isinstance(p, dict) and isinstance(p.get("principal"), str) and isinstance(p.get("actions"), list)
                for p in perms
            ):
                problems.append(f"{name}: permissions is not a list of {{principal, actions}}")
    return problems
