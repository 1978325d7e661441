"""`qsbackup iam-policy --organization`: the CloudFormation template for a config that lists the
accounts of an organization passes cfn-lint, and so does the StackSet's member template inside
it; the member role trusts the runner's principal alone and reads QuickSight in its own account;
the runner may assume that role and list the organization's accounts."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

CONFIG = """\
aws:
  region: us-east-1
organization:
  role_name: QuickSightBackupReader
  regions: [us-east-1, eu-west-1]
repository: s3://central-backups/qs
"""


def qsbackup_binary() -> Path:
    explicit = os.environ.get("QSBACKUP_BIN")
    target = Path(os.environ.get("CARGO_TARGET_DIR") or Path.home() / ".cache" / "qsbackup-target")
    path = Path(explicit) if explicit else target / "debug" / "qsbackup"
    if not path.is_file():
        pytest.fail(f"qsbackup binary not found at {path}: build it with `cargo build -p qsbackup` or set QSBACKUP_BIN")
    return path


def iam_policy_organization(config: Path):
    return subprocess.run(
        [str(qsbackup_binary()), "--config", str(config), "iam-policy", "--organization"],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), "AWS_EC2_METADATA_DISABLED": "true"},
    )


def cfn_lint(path: Path):
    out = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(path)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_organization_template_is_valid_cloudformation_and_scoped(tmp_path):
    config = tmp_path / "org.yaml"
    config.write_text(CONFIG)
    out = iam_policy_organization(config)
    assert out.returncode == 0, out.stderr
    template = json.loads(out.stdout)
    path = tmp_path / "organization.json"
    path.write_text(out.stdout)
    cfn_lint(path)

    stack_set = template["Resources"]["MemberRoleStackSet"]["Properties"]
    assert stack_set["PermissionModel"] == "SERVICE_MANAGED"
    member = json.loads(stack_set["TemplateBody"])
    member_path = tmp_path / "member.json"
    member_path.write_text(stack_set["TemplateBody"])
    cfn_lint(member_path)

    role = member["Resources"]["MemberRole"]["Properties"]
    assert role["RoleName"] == "QuickSightBackupReader"
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": {"Ref": "BackupPrincipalArn"}}, "the runner alone"
    (policy,) = role["Policies"]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    read = statements["QuickSightReadAndExport"]
    assert "quicksight:StartAssetBundleExportJob" in read["Action"]
    assert not any("Import" in a or "Delete" in a or "Create" in a for a in read["Action"]), "backup only"
    regions = sorted(re.search(r":quicksight:([a-z0-9-]+):", r["Fn::Sub"]).group(1) for r in read["Resource"])
    assert regions == ["eu-west-1", "us-east-1"]
    assert all("${AWS::AccountId}" in r["Fn::Sub"] for r in read["Resource"]), "its own account"

    runner = {
        s["Sid"]: s
        for s in template["Resources"]["BackupRunnerPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    }
    assert runner["AssumeTheMemberRole"]["Resource"] == "arn:aws:iam::*:role/QuickSightBackupReader"
    assert runner["ListTheAccountsOfTheOrganizationIamGrantsOnlyOnStar"]["Action"] == "organizations:ListAccounts"
    assert runner["RepositoryObjects"]["Resource"] == "arn:aws:s3:::central-backups/qs/*"
    # The runner reads its own account in every region a target is in.
    own = sorted(re.search(r":quicksight:([a-z0-9-]+):", r).group(1) for r in runner["QuickSightReadAndExport"]["Resource"])
    assert own == ["eu-west-1", "us-east-1"]
    assert runner["QuickSightAccountLevelActionsIamGrantsOnlyOnStar"]["Condition"]["StringEquals"][
        "aws:RequestedRegion"
    ] == ["eu-west-1", "us-east-1"]


def test_a_single_account_config_is_told_to_use_the_plain_policy(tmp_path):
    config = tmp_path / "one.yaml"
    config.write_text('aws:\n  region: us-east-1\n  account_id: "123456789012"\n')
    out = iam_policy_organization(config)
    assert out.returncode == 3, out.stderr
    assert "without --organization" in out.stderr
