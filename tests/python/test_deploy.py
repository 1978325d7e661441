"""deploy/: cfn-lint passes on the SAM template, and every Task of the state machine invokes a
function the template defines, substituted by name, with the handler the Rust dispatcher knows."""

import json
import re
import subprocess
import sys
from pathlib import Path

from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
HANDLERS_RS = ROOT / "crates" / "qsbackup-lambda" / "src" / "lib.rs"


def tasks(states):
    for name, state in states.items():
        if state["Type"] == "Task":
            yield name, state
        for branch in state.get("Branches", []):
            yield from tasks(branch["States"])
        if "ItemProcessor" in state:
            yield from tasks(state["ItemProcessor"]["States"])


def kebab(name):
    return re.sub(r"(?<!^)([A-Z])", r"-\1", name).lower()


def test_cfn_lint_passes_on_the_template():
    out = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(DEPLOY / "template.yaml")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_task_names_a_function_the_template_defines():
    template = cfn_yaml.load(str(DEPLOY / "template.yaml"))
    resources = template["Resources"]
    machine = next(r for r in resources.values() if r["Type"] == "AWS::Serverless::StateMachine")
    assert machine["Properties"]["DefinitionUri"] == "statemachine.asl.json"
    substitutions = machine["Properties"]["DefinitionSubstitutions"]
    asl = json.loads((DEPLOY / "statemachine.asl.json").read_text())
    known = set(re.findall(r'^    "([a-z-]+)",$', HANDLERS_RS.read_text(), re.M))
    found = list(tasks(asl["States"]))
    assert len(found) >= 8
    for name, state in found:
        m = re.fullmatch(r"\$\{(\w+)FunctionArn\}", state["Resource"])
        assert m, f"{name}: {state['Resource']} is not a function substitution"
        key = f"{m.group(1)}FunctionArn"
        assert key in substitutions, f"{name}: {key} is not substituted by the template"
        logical = substitutions[key]["Fn::GetAtt"][0]
        function = resources.get(logical)
        assert function and function["Type"] == "AWS::Serverless::Function", f"{name}: {logical} is no function"
        handler = function["Properties"]["Environment"]["Variables"]["QSBACKUP_HANDLER"]
        assert handler == kebab(m.group(1)), f"{logical} serves {handler}"
        assert handler in known, f"{handler} is not a handler of qsbackup-lambda"
        # Every function the workflow invokes is in the state machine role's policy.
        role = resources[machine["Properties"]["Role"]["Fn::GetAtt"][0]]
        invokable = [r["Fn::GetAtt"][0] for r in role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]["Resource"]]
        assert logical in invokable, f"the state machine role cannot invoke {logical}"


def test_the_map_is_bounded_and_polls_with_a_wait_loop():
    asl = json.loads((DEPLOY / "statemachine.asl.json").read_text())
    states = asl["States"]
    parallel = states["DiscoverAndIdentities"]
    assert parallel["Type"] == "Parallel" and len(parallel["Branches"]) == 2
    m = states["ExportBundles"]
    assert m["Type"] == "Map" and m["MaxConcurrencyPath"] == "$.max_concurrency"
    inner = m["ItemProcessor"]["States"]
    assert inner["WaitForExport"]["Next"] == "CheckExport"
    assert inner["ExportFinished"]["Choices"][0]["Next"] == "WaitForExport"
    for name in ("StartExport", "CheckExport"):
        assert inner[name]["Catch"][0]["Next"] == "RecordBundleFailure"
    assert any("QuickSightLimitExceeded" in r["ErrorEquals"] for r in inner["StartExport"]["Retry"])


def sub(template, values):
    return re.sub(r"\$\{([\w:.]+)\}", lambda m: values[m.group(1)], template)


def test_the_drill_rule_invokes_the_drill_handler_with_input_it_accepts():
    template = cfn_yaml.load(str(DEPLOY / "template.yaml"))
    resources = template["Resources"]
    known = set(re.findall(r'^    "([a-z-]+)",$', HANDLERS_RS.read_text(), re.M))
    function = resources["DrillFunction"]
    assert function["Condition"] == "HasDrill"
    assert function["Properties"]["Environment"]["Variables"]["QSBACKUP_HANDLER"] == "drill"
    assert "drill" in known
    # A drill that failed is not run again by Lambda's asynchronous retries.
    assert function["Properties"]["EventInvokeConfig"]["MaximumRetryAttempts"] == 0
    budget = int(function["Properties"]["Environment"]["Variables"]["QSBACKUP_HANDLER_BUDGET_SECONDS"])
    assert budget < function["Properties"]["Timeout"] <= 900
    rule = resources["DrillRule"]
    assert rule["Condition"] == "HasDrill"
    assert rule["Properties"]["ScheduleExpression"] == {"Ref": "DrillSchedule"}
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["DrillFunction", "Arn"]}
    text, _variables = target["Input"]["Fn::Sub"]
    values = {
        "DrillTargetAccount": "210987654321",
        "TargetRegion": "eu-west-1",
        "IdentityRegion": "us-east-1",
        "DrillRoleArn": "",
        "DrillOverrides": template["Parameters"]["DrillOverrides"]["Default"],
        "DrillTeardown": template["Parameters"]["DrillTeardown"]["Default"],
    }
    drill = json.loads(sub(text, values))["drill"]
    # The fields of DrillRequest (payload.rs), which refuses any other.
    payload = (ROOT / "crates" / "qsbackup-lambda" / "src" / "payload.rs").read_text()
    body = payload.split("pub struct DrillRequest {", 1)[1].split("\n}", 1)[0]
    fields = set(re.findall(r"^    pub (\w+):", body, re.M))
    assert set(drill) <= fields, set(drill) - fields
    assert drill["teardown"] is True and drill["overrides"] is None
    assert drill["target_account"] == "210987654321"
    permission = resources["DrillInvokePermission"]["Properties"]
    assert permission["Principal"] == "events.amazonaws.com"
    assert permission["SourceArn"] == {"Fn::GetAtt": ["DrillRule", "Arn"]}
    alarm = resources["FailedDrillAlarm"]["Properties"]
    assert alarm["Namespace"] == "AWS/Lambda" and alarm["MetricName"] == "Errors"
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "DrillFunction"}}]
    # Without a recovery account there is no drill at all.
    for name, r in resources.items():
        if name.startswith("Drill") or name == "FailedDrillAlarm":
            assert r.get("Condition") == "HasDrill", name


def test_the_organization_workflow_runs_the_account_workflow_per_target_and_alarms_once():
    template = cfn_yaml.load(str(DEPLOY / "template.yaml"))
    resources = template["Resources"]
    known = set(re.findall(r'^    "([a-z-]+)",$', HANDLERS_RS.read_text(), re.M))
    machine = resources["OrganizationStateMachine"]
    assert machine["Condition"] == "IsOrganization"
    assert machine["Properties"]["DefinitionUri"] == "organization.asl.json"
    substitutions = machine["Properties"]["DefinitionSubstitutions"]
    assert substitutions["BackupStateMachineArn"] == {"Ref": "BackupStateMachine"}
    role = resources[machine["Properties"]["Role"]["Fn::GetAtt"][0]]
    statements = {s["Sid"]: s for s in role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]}
    invokable = [r["Fn::GetAtt"][0] for r in statements["InvokeTheOrganizationFunctions"]["Resource"]]
    assert {"Ref": "BackupStateMachine"} in statements["StartTheAccountWorkflowAndItsOwnMapRuns"]["Resource"]

    asl = json.loads((DEPLOY / "organization.asl.json").read_text())
    found = list(tasks(asl["States"]))
    assert {name for name, _ in found} == {"ListTargets", "BackupTarget", "SummarizeTargets"}
    for name, state in found:
        if state["Resource"] == "arn:aws:states:::states:startExecution.sync:2":
            assert state["Parameters"]["StateMachineArn"] == "${BackupStateMachineArn}"
            assert state["Parameters"]["Input"]["target.$"] == "$.target"
            assert state["Parameters"]["Input"]["organization_run.$"] == "$.organization_run"
            assert state["ResultSelector"] == {"status.$": "$.Status"}, "nothing per target travels back"
            assert state["Catch"][0]["ErrorEquals"] == ["States.ALL"], "one target's failure is its outcome"
            continue
        m = re.fullmatch(r"\$\{(\w+)FunctionArn\}", state["Resource"])
        assert m, f"{name}: {state['Resource']}"
        logical = substitutions[f"{m.group(1)}FunctionArn"]["Fn::GetAtt"][0]
        handler = resources[logical]["Properties"]["Environment"]["Variables"]["QSBACKUP_HANDLER"]
        assert handler == kebab(m.group(1)) and handler in known, handler
        assert logical in invokable, f"the organization role cannot invoke {logical}"
    each = asl["States"]["BackupEachAccount"]
    assert each["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert each["MaxConcurrencyPath"] == "$.max_concurrency"
    regions = each["ItemProcessor"]["States"]["EachRegion"]
    assert regions["MaxConcurrency"] == 1, "an account's regions one after the other"
    assert each["ToleratedFailurePercentage"] == 100 and each["ResultPath"] is None
    assert each["Catch"][0]["Next"] == "SummarizeTargets", "the summary runs whatever happened"
    assert asl["States"]["SummarizeTargets"]["Parameters"]["organization_run.$"] == "$$.Execution.Name"
    globals_env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert globals_env["QSBACKUP_MAX_CONCURRENT_ACCOUNTS"] == {"Ref": "MaxConcurrentAccounts"}

    # The account workflow's first state receives its input whole, the target included.
    account = json.loads((DEPLOY / "statemachine.asl.json").read_text())
    assert "Parameters" not in account["States"][account["StartAt"]]

    # One schedule and one alarm, on the organization's workflow when there is one.
    pick = {"Fn::If": ["IsOrganization", {"Ref": "OrganizationStateMachine"}, {"Ref": "BackupStateMachine"}]}
    assert resources["BackupSchedule"]["Properties"]["Target"]["Arn"] == pick
    (dimension,) = resources["FailedRunsAlarm"]["Properties"]["Dimensions"]
    assert dimension["Value"] == pick
