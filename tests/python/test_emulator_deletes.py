"""The delete operations of qs-emulator through boto3, each raw response (and each
404) checked against botocore's model. They run on an emulator of their own, so the
session's shared `small` account keeps every asset the other tests expect."""

from __future__ import annotations

import pytest

from conftest import _client_factory, _serve
from qs_helpers import ACCOUNT, ASSET_KINDS, KIND_BY_RESOURCE, list_assets, parse_arn

DELETE_OPS = {
    "datasource": "DeleteDataSource",
    "dataset": "DeleteDataSet",
    "analysis": "DeleteAnalysis",
    "dashboard": "DeleteDashboard",
    "theme": "DeleteTheme",
    "vpcConnection": "DeleteVPCConnection",
    "folder": "DeleteFolder",
    "topic": "DeleteTopic",
}
MEMBER_TYPES = {
    "dashboard": "DASHBOARD",
    "analysis": "ANALYSIS",
    "dataset": "DATASET",
    "datasource": "DATASOURCE",
    "topic": "TOPIC",
}


@pytest.fixture(scope="module")
def qs(checker):
    """A checked client of an emulator this module may delete from."""
    served = _serve("small")
    emulator = next(served)
    yield _client_factory(emulator, checker)()
    served.close()


def empty_folder(qs, folder_id: str) -> None:
    members = qs.call("ListFolderMembers", AwsAccountId=ACCOUNT, FolderId=folder_id)["FolderMemberList"]
    for m in members:
        _, _, resource, member_id = parse_arn(m["MemberArn"])
        if resource == "folder":
            empty_folder(qs, member_id)
            qs.call("DeleteFolder", AwsAccountId=ACCOUNT, FolderId=member_id)
            continue
        qs.call(
            "DeleteFolderMembership",
            AwsAccountId=ACCOUNT,
            FolderId=folder_id,
            MemberId=member_id,
            MemberType=MEMBER_TYPES[resource],
        )


@pytest.mark.parametrize("kind", ASSET_KINDS, ids=[k.resource for k in ASSET_KINDS])
def test_delete_then_describe_is_not_found(qs, kind):
    op = DELETE_OPS[kind.resource]
    asset_id = list_assets(qs, kind)[0][kind.id_key]
    if kind.resource == "folder":
        qs.error(op, "PreconditionNotMetException", 400, AwsAccountId=ACCOUNT, FolderId=asset_id)
        empty_folder(qs, asset_id)
    params = {"AwsAccountId": ACCOUNT, kind.id_key: asset_id}
    extra = {"ForceDeleteWithoutRecovery": True} if kind.resource == "analysis" else {}
    out = qs.call(op, **params, **extra)
    assert out[kind.id_key] == asset_id
    assert out["Status"] == 200
    qs.error(kind.describe_op, "ResourceNotFoundException", 404, **params)
    qs.error(op, "ResourceNotFoundException", 404, **params)


def test_analysis_recovery_window_and_restore(qs):
    analysis = list_assets(qs, KIND_BY_RESOURCE["analysis"])[0]["AnalysisId"]
    params = {"AwsAccountId": ACCOUNT, "AnalysisId": analysis}
    out = qs.call("DeleteAnalysis", RecoveryWindowInDays=7, **params)
    assert "DeletionTime" in out
    assert qs.call("DescribeAnalysis", **params)["Analysis"]["Status"] == "DELETED"
    qs.error("DeleteAnalysis", "InvalidParameterValueException", 400, ForceDeleteWithoutRecovery=True, RecoveryWindowInDays=7, **params)
    qs.call("RestoreAnalysis", RestoreToFolders=True, **params)
    assert qs.call("DescribeAnalysis", **params)["Analysis"]["Status"] != "DELETED"
    qs.error("RestoreAnalysis", "PreconditionNotMetException", 400, **params)


def test_identity_deletes(qs):
    ns = {"AwsAccountId": ACCOUNT, "Namespace": "default"}
    groups = qs.call("ListGroups", **ns)["GroupList"]
    group, members = next(
        (g["GroupName"], m)
        for g in groups
        if len(m := qs.call("ListGroupMemberships", GroupName=g["GroupName"], **ns)["GroupMemberList"]) >= 2
    )
    first, second = members[0]["MemberName"], members[1]["MemberName"]
    qs.call("DeleteGroupMembership", GroupName=group, MemberName=second, **ns)
    qs.error("DeleteGroupMembership", "ResourceNotFoundException", 404, GroupName=group, MemberName=second, **ns)
    qs.call("DeleteUser", UserName=first, **ns)
    qs.error("DeleteUser", "ResourceNotFoundException", 404, UserName=first, **ns)
    qs.call("DeleteGroup", GroupName=group, **ns)
    qs.error("DeleteGroup", "ResourceNotFoundException", 404, GroupName=group, **ns)
    qs.call("CreateNamespace", AwsAccountId=ACCOUNT, Namespace="drill", IdentityStore="QUICKSIGHT")
    qs.call("DeleteNamespace", AwsAccountId=ACCOUNT, Namespace="drill")
    qs.error("DeleteNamespace", "ResourceNotFoundException", 404, AwsAccountId=ACCOUNT, Namespace="drill")
