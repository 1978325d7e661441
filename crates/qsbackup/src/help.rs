//! The examples that end `qsbackup --help` and each command's `--help`: real invocations,
//! kept here so the command definitions in `cli` stay readable.

pub const TOP: &str = "\
Examples:
  qsbackup demo                             # an emulated account: no AWS needed
  qsbackup -c config.yaml backup --dry-run  # check everything, change nothing
  qsbackup -c config.yaml backup
  qsbackup -r ./qsbackup-demo snapshots     # or QSBACKUP_REPOSITORY=./qsbackup-demo
  qsbackup -c config.yaml restore latest --dry-run

Exit codes: 0 success, 1 failure, 2 partial (some assets not backed up), 3 usage or configuration \
error, 4 repository lock held, 130/143 interrupted by SIGINT/SIGTERM.";

pub const BACKUP: &str = "\
Examples:
  qsbackup -c config.yaml backup --dry-run
  qsbackup -c config.yaml backup
  qsbackup -c config.yaml backup --mode users-only -q
  qsbackup -c config.yaml backup --generate-report --output-dir reports/";

pub const DEMO: &str = "\
Examples:
  qsbackup demo
  qsbackup demo --profile small --no-restore
  qsbackup demo --realistic --dir /tmp/qs-demo";

pub const SNAPSHOTS: &str = "\
Examples:
  qsbackup -c config.yaml snapshots
  qsbackup -r s3://my-quicksight-backups/quicksight-backups snapshots
  qsbackup snapshots -r ./qsbackup-demo --json";

pub const SHOW: &str = "\
Examples:
  qsbackup -c config.yaml show latest
  qsbackup -r ./qsbackup-demo show 20261202T072100Z-3fa9c1
  qsbackup -c config.yaml show latest --json";

pub const FIND: &str = "\
Examples:
  qsbackup -c config.yaml find dashboard/3f2a9c1e
  qsbackup -r ./qsbackup-demo find --name 'Sales*'
  qsbackup -c config.yaml find dataset/0b7e41d2 --json";

pub const LOG: &str = "\
Marks: + added (or stored again), ~ changed, renamed, permissions or tags changed,
! export failed, ? skipped, - no longer in the snapshot.

Examples:
  qsbackup -c config.yaml log dashboard/3f2a9c1e
  qsbackup -r ./qsbackup-demo log --name 'Sales*' -v
  qsbackup -c config.yaml log dataset/0b7e41d2 --json";

pub const DUMP: &str = "\
Examples:
  qsbackup -c config.yaml dump latest dashboard/3f2a9c1e > dashboard.json
  qsbackup -r ./qsbackup-demo dump 20261202T072100Z-3fa9c1 dataset/0b7e41d2 | jq .
  qsbackup -c config.yaml dump latest dashboard/3f2a9c1e --zip > bundle.zip";

pub const DIFF: &str = "\
Examples:
  qsbackup -c config.yaml diff 20261201T020000Z-a81c2e latest
  qsbackup -r ./qsbackup-demo diff 20261201T02 latest --json";

pub const VERIFY: &str = "\
Examples:
  qsbackup -c config.yaml verify
  qsbackup -c config.yaml verify --all
  qsbackup -r ./qsbackup-demo verify latest";

pub const FORGET: &str = "\
Examples:
  qsbackup -c config.yaml forget --keep-daily 30 --dry-run
  qsbackup -c config.yaml forget --keep-daily 7 --keep-weekly 4 --keep-monthly 12 --prune";

pub const UNLOCK: &str = "\
Examples:
  qsbackup -c config.yaml unlock
  qsbackup -r s3://my-quicksight-backups/quicksight-backups unlock";

pub const RESTORE: &str = "\
Examples:
  qsbackup -c config.yaml restore latest --dry-run
  qsbackup -c config.yaml restore latest --select dashboard/3f2a9c1e --yes
  qsbackup -c config.yaml restore 20261201T020000Z-a81c2e --select-name 'Sales*' --prefix copy-
  qsbackup -c config.yaml restore latest --target-account 210987654321 --overrides dr.yaml";

pub const DRILL: &str = "\
A drill restores the snapshot into the target with `--conflict skip` (it never changes an asset the
target already has), reads every restored asset back with an export job and compares it with what
was imported, checks the users, groups and memberships, and keeps the result in drills/<id>.json.
RTO is the time from the start until the last check passed; RPO is the snapshot's age at the start.
Exit 0 when everything restorable came back equal, 2 when something did not.

Examples:
  qsbackup -c config.yaml drill --target-account 210987654321 --teardown
  qsbackup -c config.yaml drill 20261201T020000Z-a81c2e --target-account 210987654321 --overrides dr.yaml
  qsbackup -c config.yaml drill latest --target-account 210987654321 --teardown --json > drill.json";

pub const DRILLS: &str = "\
Examples:
  qsbackup -c config.yaml drills
  qsbackup -r s3://my-backups/quicksight drills --json";

pub const REPORT: &str = "\
Examples:
  qsbackup -c config.yaml report --html history.html
  qsbackup -r s3://my-backups/quicksight report --html - > history.html";

pub const IMPORT_LEGACY: &str = "\
Examples:
  qsbackup -c config.yaml import-legacy --date 2026-11-30
  qsbackup -c config.yaml import-legacy --date 2026-11-30 --json > imported.json";

pub const IAM_POLICY: &str = "\
Examples:
  qsbackup -c config.yaml iam-policy > backup-policy.json
  qsbackup -c config.yaml iam-policy --restore
  qsbackup -c config.yaml iam-policy --kms-key-arn arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

pub const COST: &str = "\
Examples:
  qsbackup -c config.yaml cost
  qsbackup -c config.yaml cost --snapshot latest --keep-daily 7 --keep-weekly 4
  qsbackup -c config.yaml cost --runs-per-day 4 --price-s3-storage 0.025";
