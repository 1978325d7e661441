//! The `qs-emulator` binary: serve an emulated QuickSight, or generate an
//! account as JSON.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use qs_emulator::account::Account;
use qs_emulator::model::AssetType;
use qs_emulator::{EmulatorOptions, FaultPlan, Profile, Timing};

#[derive(Parser)]
#[command(
    name = "qs-emulator",
    version,
    about = "A local Amazon QuickSight API for testing qsbackup"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the QuickSight API until killed; prints `listening on URL` first.
    Serve {
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
        /// Size of the first account: empty, small (~60 assets), medium (~1,000), large (~10,000).
        #[arg(long, default_value = "small")]
        profile: Profile,
        /// Size of each account of --accounts, in the same order (instead of --profile):
        /// `small,medium,empty`.
        #[arg(long, value_delimiter = ',', conflicts_with = "profile")]
        profiles: Vec<Profile>,
        /// Seed of the generated account and of fault decisions.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Account ids; the first gets --profile and the others start empty, unless --profiles
        /// sizes each.
        #[arg(long, value_delimiter = ',', default_value = "123456789012")]
        accounts: Vec<String>,
        /// Asset region.
        #[arg(long, default_value = "us-east-1", conflicts_with = "regions")]
        region: String,
        /// Asset regions (instead of --region): every account is populated in each, with its
        /// own seed; the first is where admin edits go unless they name a region.
        #[arg(long, value_delimiter = ',')]
        regions: Vec<String>,
        /// Region where user and group APIs answer.
        #[arg(long, default_value = "us-east-1")]
        identity_region: String,
        /// instant (tests) or realistic (benchmarks: API latency and job durations).
        #[arg(long, default_value = "instant")]
        timing: Timing,
        /// Fault plan JSON file (same format as PUT /_emulator/faults).
        #[arg(long)]
        faults: Option<PathBuf>,
        /// Load the first account from a file written by `generate`.
        #[arg(long)]
        state: Option<PathBuf>,
        /// S3 endpoint import jobs read S3Uri sources from.
        #[arg(long)]
        s3_endpoint: Option<String>,
    },
    /// Write a generated account as JSON and print a summary by type.
    Generate {
        #[arg(long, default_value = "medium")]
        profile: Profile,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value = "123456789012")]
        account: String,
        #[arg(long, default_value = "us-east-1")]
        region: String,
        /// Output file; without it only the summary is printed.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn summary(account: &Account) {
    use qs_emulator::bundle::unsupported_reason;
    println!("account {}", account.account_id);
    for t in AssetType::ALL {
        let assets: Vec<_> = account.assets_of(t).collect();
        let unsupported = assets
            .iter()
            .filter(|a| unsupported_reason(account, t, a).is_some())
            .count();
        let def_errors = assets.iter().filter(|a| a.definition_error).count();
        println!(
            "  {:<14} {:>6}   unsupported {:>3}   definition errors {:>3}",
            t.resource(),
            assets.len(),
            unsupported,
            def_errors
        );
    }
    let mut types: std::collections::BTreeMap<String, usize> = Default::default();
    for a in account.assets_of(AssetType::DataSource) {
        let t = a.body.get("Type").and_then(|v| v.as_str()).unwrap_or("?").to_string();
        *types.entry(t).or_default() += 1;
    }
    println!("  data source types: {types:?}");
    let modes = account.assets_of(AssetType::DataSet).fold((0, 0, 0, 0, 0), |acc, a| {
        let spice = a.body.get("ImportMode").and_then(|v| v.as_str()) == Some("SPICE");
        let upload = a
            .body
            .get("PhysicalTableMap")
            .map(|m| m.to_string().contains("UploadSettings"))
            .unwrap_or(false);
        (
            acc.0 + spice as usize,
            acc.1 + (!spice) as usize,
            acc.2 + upload as usize,
            acc.3 + a.ml_columns as usize,
            acc.4 + a.body.contains_key("RowLevelPermissionDataSet") as usize,
        )
    });
    println!(
        "  datasets: SPICE {}, DIRECT_QUERY {}, uploaded files {}, ML columns {}, row-level security {}",
        modes.0, modes.1, modes.2, modes.3, modes.4
    );
    let schedules: usize = account
        .assets_of(AssetType::DataSet)
        .map(|a| a.refresh_schedules.len())
        .sum();
    let themed = account
        .assets_of(AssetType::Dashboard)
        .filter(|a| a.body.contains_key("ThemeArn"))
        .count();
    let nested = account
        .assets_of(AssetType::Folder)
        .filter(|a| a.body.contains_key("ParentFolderArn"))
        .count();
    let members: usize = account.folder_members.values().map(|m| m.len()).sum();
    println!("  refresh schedules {schedules}, themed dashboards {themed}, nested folders {nested}, folder members {members}");
    let users: Vec<_> = account.namespaces.values().flat_map(|n| n.users.values()).collect();
    let inactive = users.iter().filter(|u| !u.active).count();
    let mut by_type: std::collections::BTreeMap<&str, usize> = Default::default();
    let mut by_role: std::collections::BTreeMap<&str, usize> = Default::default();
    for u in &users {
        *by_type.entry(u.identity_type.as_str()).or_default() += 1;
        *by_role.entry(u.role.as_str()).or_default() += 1;
    }
    let groups: Vec<_> = account.namespaces.values().flat_map(|n| n.groups.values()).collect();
    let empty = groups.iter().filter(|g| g.members.is_empty()).count();
    let memberships: usize = groups.iter().map(|g| g.members.len()).sum();
    println!(
        "  namespaces {}: {:?}",
        account.namespaces.len(),
        account.namespaces.keys().collect::<Vec<_>>()
    );
    println!(
        "  users {} (inactive {inactive}) by identity type {by_type:?} by role {by_role:?}",
        users.len()
    );
    println!("  groups {} (empty {empty}), memberships {memberships}", groups.len());
    println!(
        "  brands {}, custom permissions {}, customizations {}",
        account.brands.len(),
        account.custom_permissions.len(),
        account.customizations.len()
    );
    println!("  total assets {}", account.count());
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Generate {
            profile,
            seed,
            account,
            region,
            out,
        } => {
            let acct = qs_emulator::generate::generate(profile, seed, &account, &region, &region);
            summary(&acct);
            if let Some(path) = out {
                let json = serde_json::to_vec_pretty(&acct)?;
                std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?;
                println!("wrote {}", path.display());
            }
            Ok(())
        }
        Command::Serve {
            listen,
            profile,
            profiles,
            seed,
            accounts,
            region,
            regions,
            identity_region,
            timing,
            faults,
            state,
            s3_endpoint,
        } => {
            if accounts.is_empty()
                || accounts
                    .iter()
                    .any(|a| a.len() != 12 || !a.chars().all(|c| c.is_ascii_digit()))
            {
                bail!("--accounts takes 12-digit account ids separated by commas");
            }
            if !profiles.is_empty() && profiles.len() != accounts.len() {
                bail!(
                    "--profiles names {} profiles for {} accounts: give one per account, in the order of --accounts",
                    profiles.len(),
                    accounts.len()
                );
            }
            if regions.iter().any(|r| r.is_empty()) {
                bail!("--regions takes region names separated by commas");
            }
            let region = regions.first().cloned().unwrap_or(region);
            let faults = match faults {
                Some(p) => {
                    let text = std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
                    serde_json::from_str::<FaultPlan>(&text)
                        .with_context(|| format!("parsing fault plan {}", p.display()))?
                }
                None => FaultPlan::default(),
            };
            let state = match state {
                Some(p) => {
                    let text = std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
                    Some(
                        serde_json::from_str::<Account>(&text)
                            .with_context(|| format!("parsing account state {}", p.display()))?,
                    )
                }
                None => None,
            };
            let options = EmulatorOptions {
                profile,
                profiles,
                seed,
                accounts,
                region,
                regions,
                identity_region,
                timing,
                faults,
                s3_endpoint,
                state,
            };
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(async move {
                let handle = qs_emulator::start_on(&listen, options)
                    .await
                    .with_context(|| format!("listening on {listen}"))?;
                use std::io::Write;
                println!("listening on {}", handle.endpoint());
                std::io::stdout().flush()?;
                tokio::signal::ctrl_c().await?;
                drop(handle);
                Ok(())
            })
        }
    }
}
