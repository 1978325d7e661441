//! Account configuration snapshot against the emulated `medium` account:
//! settings, customizations, every brand and folder, and what a caller may
//! not read recorded as unavailable.

mod identities_support;

use identities_support::*;
use qs_emulator::Profile;
use qsbackup_core::account_config::{self, AccountSnapshot};
use qsbackup_core::identities::{self, IdentityLimits};

async fn namespaces(qs: &aws_sdk_quicksight::Client) -> Vec<String> {
    identities::snapshot(qs, ACCOUNT, &IdentityLimits::default())
        .await
        .expect("identity snapshot")
        .namespaces
        .into_iter()
        .map(|ns| ns.name)
        .collect()
}

async fn listed_brand_ids(qs: &aws_sdk_quicksight::Client) -> Vec<String> {
    let mut ids = Vec::new();
    let mut token = None;
    loop {
        let page = qs
            .list_brands()
            .aws_account_id(ACCOUNT)
            .set_next_token(token)
            .send()
            .await
            .expect("ListBrands");
        ids.extend(page.brands().iter().filter_map(|b| b.brand_id().map(str::to_string)));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    ids.sort();
    ids
}

async fn listed_folder_ids(qs: &aws_sdk_quicksight::Client) -> Vec<String> {
    let mut ids: Vec<String> = qs
        .list_folders()
        .aws_account_id(ACCOUNT)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("ListFolders")
        .iter()
        .filter_map(|f| f.folder_id().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn medium_account_configuration_is_complete_and_stable() {
    let emu = emulator(Profile::Medium).await;
    let qs = quicksight(&emu.endpoint(), IDENTITY_REGION, true);
    let namespaces = namespaces(&qs).await;

    let snapshot = account_config::snapshot(&qs, ACCOUNT, &namespaces)
        .await
        .expect("account snapshot");
    assert_eq!(snapshot.account_id, ACCOUNT);
    assert!(snapshot.account_settings.is_some(), "{:?}", snapshot.unavailable);

    // Every namespace has its customization, or says why not.
    for ns in &namespaces {
        let recorded = snapshot.customizations.contains_key(ns)
            || snapshot.unavailable.iter().any(|u| u.what.contains(&format!("`{ns}`")));
        assert!(recorded, "namespace {ns} neither customized nor unavailable");
    }

    // Every brand, with its definition.
    let brand_ids: Vec<_> = snapshot.brands.iter().map(|b| b.brand_id.clone()).collect();
    assert_eq!(brand_ids, listed_brand_ids(&qs).await);
    assert!(!brand_ids.is_empty(), "medium has brands");
    for brand in &snapshot.brands {
        assert!(brand.definition.is_some(), "brand {} has no definition", brand.brand_id);
        assert!(brand.detail.is_some(), "brand {} has no detail", brand.brand_id);
    }

    // Custom permissions profiles, sorted by name, capabilities included.
    // (Not cross-checked with the typed SDK: its unoptimized `Capabilities`
    // decoder needs more stack than a test thread has.)
    let profile_names: Vec<_> = snapshot
        .custom_permissions
        .iter()
        .filter_map(|p| p["CustomPermissionsName"].as_str())
        .collect();
    assert_eq!(profile_names.len(), snapshot.custom_permissions.len());
    assert!(!profile_names.is_empty(), "medium has custom permissions profiles");
    assert!(profile_names.windows(2).all(|w| w[0] <= w[1]), "{profile_names:?}");
    for profile in &snapshot.custom_permissions {
        assert!(profile["Capabilities"].is_object(), "{profile}");
    }

    // Every folder, with its description, permissions and members.
    let folder_ids: Vec<_> = snapshot.folders.iter().map(|f| f.folder_id.clone()).collect();
    assert_eq!(folder_ids, listed_folder_ids(&qs).await);
    assert!(folder_ids.len() >= 10, "medium has many folders: {}", folder_ids.len());
    for folder in &snapshot.folders {
        assert!(folder.folder.is_some(), "folder {}", folder.folder_id);
        assert!(folder.permissions.is_some(), "folder {}", folder.folder_id);
        assert!(folder.members.is_some(), "folder {}", folder.folder_id);
    }
    assert!(
        snapshot
            .folders
            .iter()
            .any(|f| f.members.as_ref().is_some_and(|m| !m.is_empty())),
        "some folder has members"
    );

    // No request ids or presigned URLs leak into the snapshot, and the same
    // account gives the same bytes.
    let text = serde_json::to_string(&snapshot).expect("serializable");
    assert!(!text.contains("RequestId"), "request ids stored");
    assert!(
        !text.to_ascii_lowercase().contains("x-amz-signature"),
        "presigned URL stored"
    );
    // Small pages: every list call paginates, and the result is the same.
    let small_pages = IdentityLimits {
        page_size: 7,
        ..IdentityLimits::default()
    };
    let mut again = account_config::snapshot_with_limits(&qs, ACCOUNT, &namespaces, &small_pages)
        .await
        .expect("second account snapshot");
    again.taken_at = snapshot.taken_at;
    assert_eq!(text, serde_json::to_string(&again).expect("serializable"));
    let back: AccountSnapshot = serde_json::from_str(&text).expect("readable");
    assert_eq!(back, snapshot);
}

#[tokio::test]
async fn what_may_not_be_read_is_recorded_as_unavailable() {
    let emu = emulator(Profile::Medium).await;
    let qs = quicksight(&emu.endpoint(), IDENTITY_REGION, true);
    set_faults(
        &emu,
        serde_json::json!({"deny": ["DescribeAccountSettings", "ListBrands", "DescribeFolderPermissions"]}),
    )
    .await;
    let snapshot = account_config::snapshot(&qs, ACCOUNT, &["default".to_string()])
        .await
        .expect("a snapshot despite refusals");

    assert!(snapshot.account_settings.is_none());
    assert!(snapshot.brands.is_empty());
    let said = |call: &str| {
        snapshot
            .unavailable
            .iter()
            .filter(|u| u.what.contains(call))
            .inspect(|u| assert!(u.reason.contains("AccessDenied"), "{u:?}"))
            .count()
    };
    assert_eq!(said("DescribeAccountSettings"), 1, "{:?}", snapshot.unavailable);
    assert_eq!(said("ListBrands"), 1, "{:?}", snapshot.unavailable);
    assert_eq!(said("DescribeFolderPermissions"), snapshot.folders.len());
    assert!(!snapshot.folders.is_empty());
    for folder in &snapshot.folders {
        assert!(folder.permissions.is_none());
        assert!(folder.folder.is_some() && folder.members.is_some());
    }
}
