"""Unit tests of shape_check: hand-made bodies it must accept or reject.

These need no emulator, so `pytest tests/python -k shape_check` runs them alone.
"""

from __future__ import annotations

import copy
import json

import pytest

from shape_check import ShapeChecker, translate_java_pattern

ACCOUNT = "123456789012"
JSON_HEADERS = {"Content-Type": "application/json", "x-amzn-RequestId": "r-1"}


@pytest.fixture(scope="module")
def checker() -> ShapeChecker:
    return ShapeChecker()


GOOD_USER = {
    "User": {
        "Arn": f"arn:aws:quicksight:us-east-1:{ACCOUNT}:user/default/alice",
        "UserName": "alice",
        "Email": "alice@example.com",
        "Role": "AUTHOR",
        "IdentityType": "QUICKSIGHT",
        "Active": True,
        "PrincipalId": "federated/iam/AIDAEXAMPLE",
    },
    "RequestId": "3f1c2a7e-0000-4000-8000-000000000001",
}

GOOD_EXPORT = {
    "Arn": f"arn:aws:quicksight:us-east-1:{ACCOUNT}:asset-bundle-export-job/job-1",
    "AssetBundleExportJobId": "job-1",
    "AwsAccountId": ACCOUNT,
    "JobStatus": "SUCCESSFUL",
    "DownloadUrl": "https://127.0.0.1:9/download/job-1?token=x",
    "CreatedTime": 1_732_780_800.25,
    "ResourceArns": [f"arn:aws:quicksight:us-east-1:{ACCOUNT}:dashboard/d1"],
    "IncludeAllDependencies": True,
    "ExportFormat": "QUICKSIGHT_JSON",
    "IncludePermissions": False,
    "IncludeTags": False,
    "Errors": [],
    "Warnings": [],
    "RequestId": "3f1c2a7e-0000-4000-8000-000000000002",
}


def problems_for(checker, op, body):
    return checker.check_output(op, body)


def mutated(body, path, value):
    """A deep copy of body with path (a list of keys) set to value (or deleted if value is DELETE)."""
    copied = copy.deepcopy(body)
    node = copied
    for key in path[:-1]:
        node = node[key]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return copied


DELETE = object()


def test_shape_check_accepts_good_bodies(checker):
    assert problems_for(checker, "DescribeUser", GOOD_USER) == []
    assert problems_for(checker, "DescribeAssetBundleExportJob", GOOD_EXPORT) == []
    assert problems_for(checker, "ListUsers", {"UserList": [GOOD_USER["User"]], "RequestId": "x"}) == []


@pytest.mark.parametrize(
    "op, body, path, value, expect",
    [
        ("DescribeUser", GOOD_USER, ["User", "Nickname"], "al", "$.User.Nickname: unknown member"),
        ("DescribeUser", GOOD_USER, ["Status"], 200, "$.Status: bound to statusCode"),
        ("DescribeUser", GOOD_USER, ["User", "Active"], "true", "$.User.Active: Boolean is a boolean"),
        ("DescribeUser", GOOD_USER, ["User", "Role"], "SUPERUSER", "not in enum UserRole"),
        ("DescribeUser", GOOD_USER, ["User", "Email"], None, "$.User.Email: null value"),
        ("DescribeUser", GOOD_USER, ["User"], [], "$.User: User is a structure"),
        (
            "DescribeAssetBundleExportJob",
            GOOD_EXPORT,
            ["CreatedTime"],
            "2024-11-28T08:00:00Z",
            "$.CreatedTime: Timestamp is a timestamp",
        ),
        (
            "DescribeAssetBundleExportJob",
            GOOD_EXPORT,
            ["CreatedTime"],
            1_732_780_800_000,
            "looks like epoch milliseconds",
        ),
        ("DescribeAssetBundleExportJob", GOOD_EXPORT, ["CreatedTime"], True, "is a timestamp"),
        (
            "DescribeAssetBundleExportJob",
            GOOD_EXPORT,
            ["AssetBundleExportJobId"],
            "bad id!",
            "does not match ShortRestrictiveResourceId pattern",
        ),
        (
            "DescribeAssetBundleExportJob",
            GOOD_EXPORT,
            ["AssetBundleExportJobId"],
            "x" * 513,
            "ShortRestrictiveResourceId allows at most 512",
        ),
        (
            "DescribeAssetBundleExportJob",
            GOOD_EXPORT,
            ["ResourceArns"],
            [f"arn:aws:quicksight:us-east-1:{ACCOUNT}:dashboard/d{i}" for i in range(101)],
            "AssetBundleResourceArns allows at most 100",
        ),
        ("DescribeAssetBundleExportJob", GOOD_EXPORT, ["ResourceArns"], [], "needs at least 1"),
        ("DescribeAssetBundleExportJob", GOOD_EXPORT, ["JobStatus"], "DONE", "not in enum"),
        (
            "DescribeAssetBundleExportJob",
            GOOD_EXPORT,
            ["Errors"],
            [{"Arn": "a", "Type": "X", "Message": "m", "Extra": 1}],
            "$.Errors[0].Extra: unknown member",
        ),
        (
            "DescribeAssetBundleExportJob",
            GOOD_EXPORT,
            ["CloudFormationOverridePropertyConfiguration"],
            {"DataSources": [{"Arn": "arn:x"}]},
            "$.CloudFormationOverridePropertyConfiguration.DataSources[0].Properties: required member",
        ),
        (
            "DescribeAssetBundleExportJob",
            GOOD_EXPORT,
            ["ResourceArns"],
            [None],
            "$.ResourceArns[0]: null list element",
        ),
    ],
)
def test_shape_check_rejects_bad_bodies(checker, op, body, path, value, expect):
    found = problems_for(checker, op, mutated(body, path, value))
    assert any(expect in p for p in found), found


def test_shape_check_loopback_download_url(checker):
    body = mutated(GOOD_EXPORT, ["DownloadUrl"], "http://127.0.0.1:9/download/job-1?token=x")
    assert any("DownloadUrl" in p and "pattern" in p for p in checker.check_output("DescribeAssetBundleExportJob", body))
    lenient = ShapeChecker(checker.model, allow_loopback_http=True)
    assert lenient.check_output("DescribeAssetBundleExportJob", body) == []
    elsewhere = mutated(GOOD_EXPORT, ["DownloadUrl"], "http://example.com/x")
    assert lenient.check_output("DescribeAssetBundleExportJob", elsewhere)


def test_shape_check_numbers(checker):
    integer = checker.model.shape_for("Integer")
    double = checker.model.shape_for("Double")
    for good_shape, good in [(integer, 3), (double, 3), (double, 2.5), (double, "NaN")]:
        found: list[str] = []
        checker._check(good_shape, good, "$", found)
        assert found == [], (good, found)
    for bad_shape, bad in [(integer, 2.5), (integer, "3"), (integer, False), (double, "2.5")]:
        found = []
        checker._check(bad_shape, bad, "$", found)
        assert found, bad


def test_shape_check_numeric_range(checker):
    # DecimalPlaces-like shapes carry min/max on numbers; find one and step over it.
    shape = next(
        s
        for s in (checker.model.shape_for(n) for n in checker.model.shape_names)
        if s.type_name == "integer" and "max" in s.metadata
    )
    found: list[str] = []
    checker._check(shape, shape.metadata["max"] + 1, "$", found)
    assert any("above" in p for p in found), found


def test_shape_check_blob_and_union(checker):
    blob = checker.model.shape_for("AssetBundleImportBodyBlob")
    found: list[str] = []
    checker._check(blob, "UEsDBA==", "$", found)
    assert found == []
    checker._check(blob, "not base64!", "$", found)
    assert any("base64" in p for p in found), found

    union = checker.model.shape_for("UserIdentifier")
    found = []
    checker._check(union, {"UserName": "a"}, "$", found)
    assert found == []
    checker._check(union, {"UserName": "a", "Email": "a@example.com"}, "$", found)
    assert any("exactly one member" in p for p in found), found
    found = []
    checker._check(union, {}, "$", found)
    assert any("exactly one member" in p for p in found), found


def test_shape_check_map_and_required(checker):
    good = {
        "DataSet": {
            "Arn": f"arn:aws:quicksight:us-east-1:{ACCOUNT}:dataset/ds1",
            "DataSetId": "ds1",
            "Name": "Sales",
            "ImportMode": "SPICE",
            "PhysicalTableMap": {
                "t1": {
                    "RelationalTable": {
                        "DataSourceArn": f"arn:aws:quicksight:us-east-1:{ACCOUNT}:datasource/s1",
                        "Name": "sales",
                        "InputColumns": [{"Name": "amount", "Type": "DECIMAL"}],
                    }
                }
            },
            "CreatedTime": 1700000000,
            "LastUpdatedTime": 1700000001,
        },
        "RequestId": "r",
    }
    assert checker.check_output("DescribeDataSet", good) == []
    bad = mutated(good, ["DataSet", "PhysicalTableMap", "t1", "RelationalTable", "InputColumns", 0, "Type"], "MONEY")
    assert any("InputColumns[0].Type" in p and "enum" in p for p in checker.check_output("DescribeDataSet", bad))
    bad = mutated(good, ["DataSet", "PhysicalTableMap", "t1", "RelationalTable", "Name"], DELETE)
    assert any(
        p.startswith("$.DataSet.PhysicalTableMap['t1'].RelationalTable.Name: required")
        for p in checker.check_output("DescribeDataSet", bad)
    )
    bad = mutated(good, ["DataSet", "ImportMode"], "FILE")
    assert any("ImportMode" in p for p in checker.check_output("DescribeDataSet", bad))


def test_shape_check_whole_response(checker):
    raw = json.dumps(GOOD_USER).encode()
    assert checker.check_response("DescribeUser", 200, JSON_HEADERS, raw) == []
    # No responseCode in the model: any 2xx (QuickSight answers 201 on some creates).
    assert checker.check_response("DescribeUser", 201, JSON_HEADERS, raw) == []
    found = checker.check_response("DeleteSpace", 200, JSON_HEADERS, json.dumps({"RequestId": "r"}).encode())
    assert any("HTTP status 200, the model says 204" in p for p in found), found
    found = checker.check_response("DescribeUser", 200, {"Content-Type": "text/plain"}, raw)
    assert any("x-amzn-RequestId" in p for p in found) and any("Content-Type" in p for p in found)
    found = checker.check_response("DescribeUser", 200, JSON_HEADERS, b"{not json")
    assert any("not JSON" in p for p in found), found


def error_headers(code):
    return {**JSON_HEADERS, "x-amzn-ErrorType": code}


def test_shape_check_errors(checker):
    body = json.dumps({"Message": "no such user", "RequestId": "r"}).encode()
    assert checker.check_response("DescribeUser", 404, error_headers("ResourceNotFoundException"), body) == []
    # The header may carry a namespace suffix, as some AWS front ends send it.
    assert (
        checker.check_error(
            "DescribeUser", 429, error_headers("ThrottlingException:http://internal.amazon.com/coral/"), body
        )
        == []
    )
    # A common error not listed on the operation is accepted.
    assert checker.check_error("ListBrands", 401, error_headers("AccessDeniedException"), body) == []

    found = checker.check_error("DescribeUser", 404, JSON_HEADERS, body)
    assert any("x-amzn-ErrorType is missing" in p for p in found), found
    found = checker.check_error("DescribeUser", 409, error_headers("ResourceExistsException"), body)
    assert any("neither declared" in p for p in found), found
    found = checker.check_error("DescribeUser", 400, error_headers("ResourceNotFoundException"), body)
    assert any("the model says 404" in p for p in found), found
    found = checker.check_error(
        "DescribeUser", 404, error_headers("ResourceNotFoundException"), json.dumps({"message": "x"}).encode()
    )
    assert any('"Message"' in p for p in found) and any("$.message: unknown member" in p for p in found)
    found = checker.check_error("DescribeUser", 404, error_headers("ResourceNotFoundException"), b"")
    assert any("body is empty" in p for p in found), found


@pytest.mark.parametrize(
    "java, good, bad",
    [
        ("[\\w\\-]+", "job-1_a", "job 1"),
        ("[A-Za-z0-9](?:[\\w- ]*[A-Za-z0-9])?", "My name-1", "-x"),
        ("[^\\p{Cc}]+", "tab-free name", "a\x07b"),
        ("^https://[^\\p{Cc}]+", "https://x.example/a", "https://x\n"),
        ("(?i)\\Amailto:[^\\s@]+@[a-z\\d.-]+\\.[a-z]{2,63}\\z", "MAILTO:a@b.io", "mailto:a@b.io\n"),
    ],
)
def test_shape_check_java_patterns(java, good, bad):
    import re

    compiled = re.compile(translate_java_pattern(java))
    assert compiled.fullmatch(good)
    assert not compiled.fullmatch(bad)


def test_shape_check_skips_uncompilable_patterns(checker):
    assert checker._pattern("\\P{C}*") is None
    assert "\\P{C}*" in checker.skipped_patterns
