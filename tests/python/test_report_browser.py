"""`qsbackup report --html` in a real browser: two backups of an emulated account, the report
opened from file:// in headless Chromium with the network cut off.

Checks what a person sees: no console errors, one chart point per snapshot, a dashboard's
dependency graph naming its datasets and data sources (learnt from the stored bundles with
`qsbackup show` and `qsbackup dump`, not written down here), and the search box hiding the
assets that do not match. Leaves a screenshot (and the page) under
`$CARGO_TARGET_DIR/test-output/report-browser/`.

Needs Debian's chromium and chromium-driver (`scripts/test` installs them when it can); skips
with a message when they are missing. Rerun alone with
`.venv/bin/python -m pytest -q tests/python/test_report_browser.py`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import ACCOUNT, REGION, _serve

CHROMIUM = Path(os.environ.get("QSBACKUP_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("QSBACKUP_CHROMEDRIVER", "/usr/bin/chromedriver"))
ARN_ID = re.compile(r"^arn:aws:quicksight:[^:]*:\d*:([A-Za-z]+)/(.+)$")


def target_dir() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR") or Path.home() / ".cache" / "qsbackup-target")


def qsbackup_binary() -> Path:
    explicit = os.environ.get("QSBACKUP_BIN")
    path = Path(explicit) if explicit else target_dir() / "debug" / "qsbackup"
    if not path.is_file():
        pytest.fail(f"qsbackup binary not found at {path}: build it with `cargo build -p qsbackup` or set QSBACKUP_BIN")
    return path


@pytest.fixture(scope="module")
def own_emulator():
    """An emulator of this module's own: the test renames an asset, which the shared one must not see."""
    yield from _serve("small")


@pytest.fixture(scope="module")
def browser_paths():
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.skip(
            f"browser test of the HTML report skipped: {', '.join(missing)} missing "
            "(install Debian's chromium and chromium-driver; scripts/test does when it runs as root)"
        )
    return CHROMIUM, CHROMEDRIVER


class Qsbackup:
    def __init__(self, binary: Path, endpoint: str, workdir: Path):
        self.binary = binary
        self.workdir = workdir
        self.config = workdir / "config.yaml"
        self.config.write_text(
            f'aws:\n  account_id: "{ACCOUNT}"\n  region: {REGION}\nrepository: "{workdir / "repo"}"\n'
        )
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(workdir),
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL_QUICKSIGHT": endpoint,
        }

    def run(self, *args: str, ok: tuple[int, ...] = (0,)) -> str:
        proc = subprocess.run(
            [str(self.binary), "--config", str(self.config), "--no-progress", *args],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode in ok, f"qsbackup {' '.join(args)}: exit {proc.returncode}\n{proc.stderr[-4000:]}"
        return proc.stdout

    def json(self, *args: str) -> dict:
        return json.loads(self.run("--json", *args))

    def dump(self, asset: str) -> dict:
        return json.loads(self.run("dump", "latest", asset))


def arns_in(doc, kind: str) -> set[str]:
    """Ids of every `kind` ARN anywhere in a stored asset's JSON."""
    found: set[str] = set()

    def walk(v) -> None:
        if isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, str):
            m = ARN_ID.match(v)
            if m and m.group(1) == kind:
                found.add(m.group(2))

    walk(doc)
    return found


def stored_names(q: Qsbackup) -> dict[tuple[str, str], str]:
    """(type, id) -> name (or id) of every asset the newest snapshot stored."""
    return {(a["type"], a["id"]): a.get("name") or a["id"] for a in q.json("show", "latest")["assets"]}


def dependencies(q: Qsbackup, names, dash_id: str) -> tuple[dict[str, str], dict[str, str]]:
    """The stored datasets of a stored dashboard and their stored data sources, as {id: name}."""
    datasets = {i: names[("dataset", i)] for i in arns_in(q.dump(f"dashboard/{dash_id}"), "dataset") if ("dataset", i) in names}
    sources = {}
    for ds in datasets:
        for src in arns_in(q.dump(f"dataset/{ds}"), "datasource"):
            if ("datasource", src) in names:
                sources[src] = names[("datasource", src)]
    return datasets, sources


def choose_dashboard(q: Qsbackup) -> str:
    """A stored dashboard whose stored datasets use stored data sources."""
    names = stored_names(q)
    for kind, dash_id in sorted(names):
        if kind == "dashboard":
            datasets, sources = dependencies(q, names, dash_id)
            if datasets and sources:
                return dash_id
    pytest.fail("no stored dashboard with stored datasets and data sources in the small account")


def chrome(paths, profile: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver = paths
    # Selenium Manager must not look for (or download) a browser or a driver.
    os.environ["SE_OFFLINE"] = "true"
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(chromium)
    for arg in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=127.0.0.1:9",
        "--window-size=1400,1000",
    ]:
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(executable_path=str(driver)), options=opts)
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    return browser


def visible_asset_keys(browser) -> list[str]:
    return browser.execute_script(
        "return Array.from(document.querySelectorAll('#asset-list .asset'))"
        ".filter(e => e.getClientRects().length > 0).map(e => e.dataset.key);"
    )


def test_report_opens_offline_with_chart_graph_and_search(own_emulator, browser_paths):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    out_dir = target_dir() / "test-output" / "report-browser"
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="qsbackup-report-"))
    browser = None
    try:
        q = Qsbackup(qsbackup_binary(), own_emulator.endpoint, work)
        # The small account holds assets QuickSight refuses to export: a partial snapshot, exit 2.
        q.run("backup", ok=(0, 2))
        dash_id = choose_dashboard(q)
        datasets, _ = dependencies(q, stored_names(q), dash_id)
        # A change between the two snapshots: one of the dashboard's datasets is renamed.
        renamed_id = sorted(datasets)[0]
        status, body = own_emulator.admin(
            "PATCH",
            f"/_emulator/accounts/{ACCOUNT}/assets/dataset/{renamed_id}",
            {"name": f"{datasets[renamed_id]} (renamed for the report)"},
        )
        assert status in (200, 204), (status, body)
        q.run("backup", ok=(0, 2))
        datasets, sources = dependencies(q, stored_names(q), dash_id)
        assert datasets[renamed_id].endswith("(renamed for the report)"), datasets
        snapshots = q.json("snapshots")["snapshots"]
        assert len(snapshots) == 2

        page = work / "report.html"
        q.run("report", "--html", str(page))
        shutil.copy(page, out_dir / "report.html")

        browser = chrome(browser_paths, work / "chrome-profile")
        browser.get(page.resolve().as_uri())
        wait = WebDriverWait(browser, 20)

        points = browser.find_elements(By.CSS_SELECTOR, "#history-chart svg circle")
        assert len(points) == len(snapshots), f"{len(points)} chart points for {len(snapshots)} snapshots"

        row = browser.find_element(By.CSS_SELECTOR, f'.asset[data-key="dashboard/{dash_id}"]')
        summary = row.find_element(By.TAG_NAME, "summary")
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", summary)
        summary.click()
        graph = wait.until(
            ec.presence_of_element_located((By.CSS_SELECTOR, f'.asset[data-key="dashboard/{dash_id}"] svg.graph'))
        )
        nodes = {
            n.get_attribute("data-key"): n.get_attribute("textContent")
            for n in graph.find_elements(By.CSS_SELECTOR, "g.node")
        }
        for kind, expected in (("dataset", datasets), ("datasource", sources)):
            for asset_id, name in expected.items():
                text = nodes.get(f"{kind}/{asset_id}")
                assert text is not None, f"{kind}/{asset_id} not in the graph of dashboard/{dash_id}: {sorted(nodes)}"
                assert name in text, f"{kind}/{asset_id}: {name!r} not in its node {text!r}"
        shot = out_dir / "report.png"
        browser.save_screenshot(str(shot))
        print(f"screenshot: {shot}")

        all_keys = [e.get_attribute("data-key") for e in browser.find_elements(By.CSS_SELECTOR, "#asset-list .asset")]
        assert f"dashboard/{dash_id}" in all_keys
        search = browser.find_element(By.ID, "search")
        search.send_keys(f"dashboard/{dash_id}")
        wait.until(lambda b: len(visible_asset_keys(b)) < len(all_keys))
        shown = visible_asset_keys(browser)
        assert f"dashboard/{dash_id}" in shown
        assert all(k.startswith(f"dashboard/{dash_id}") for k in shown), shown
        hidden = browser.find_element(By.CSS_SELECTOR, f'.asset[data-key="dataset/{renamed_id}"]')
        assert not hidden.is_displayed()
        search.clear()
        search.send_keys("renamed for the report")
        wait.until(lambda b: visible_asset_keys(b) == [f"dataset/{renamed_id}"])

        # The newest snapshot is partial: opening it draws its failures by root cause, each with
        # QuickSight's message, from the page's data.
        search.clear()
        newest = len(snapshots) - 1
        messages = browser.execute_script(
            "var D = JSON.parse(document.getElementById('report-data').textContent);"
            "return D.snapshots[arguments[0]].failures.map(function (f) { return D.str[f.message]; });",
            newest,
        )
        assert messages and all(messages), "the small account's snapshot has failures, each with a message"
        section = browser.find_element(By.ID, f"snap-{newest}")
        opener = section.find_element(By.TAG_NAME, "summary")
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", opener)
        opener.click()
        failures = wait.until(
            lambda b: b.find_elements(By.CSS_SELECTOR, f"#snap-{newest} ul.failures > li.failure") or False
        )
        assert len(failures) == len(messages), f"{len(failures)} failure lines for {len(messages)} groups"
        for li, message in zip(failures, messages):
            text = li.get_attribute("textContent")
            key = li.find_element(By.CSS_SELECTOR, "a.asset-link code").get_attribute("textContent")
            assert "/" in key, text
            assert f": {message}" in text, f"{message!r} not in {text!r}"

        errors = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]
        assert not errors, f"console errors: {errors}"
    finally:
        if browser is not None:
            browser.quit()
        shutil.rmtree(work, ignore_errors=True)

