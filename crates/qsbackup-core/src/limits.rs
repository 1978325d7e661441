//! How large an object or bundle member may be before qsbackup refuses to read it. Everything
//! read back from a repository is untrusted (anyone with write access can replace it), so each
//! read of a manifest, an identities or account document, or a bundle member is bounded here:
//! checked against the size the store or the zip declares before reading, and capped while
//! reading or inflating, in case the declaration lies. One place, so verify, restore, diff,
//! show, snapshots and import-legacy refuse the same things.

/// Largest bundle member (one asset's JSON), declared or inflated. A bundle of 100 assets is
/// about 500 KB zipped (AWS's figure), so members are tens of KB; the largest dashboard
/// definitions seen are a few MB. 64 MiB leaves a margin of more than ten, and keeps the
/// 2.5 GiB members of a decompression bomb far away from memory.
pub const MAX_MEMBER_BYTES: u64 = 64 * 1024 * 1024;

/// Largest sum of the members of one bundle. QuickSight imports at most 1 GB from S3, zipped;
/// JSON inflates 5-20 times.
pub const MAX_BUNDLE_MEMBERS_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// Largest uncompressed:compressed ratio of a member bigger than [`RATIO_FLOOR_BYTES`]:
/// definitions compress 5-20:1; a bomb compresses 1000:1.
pub const MAX_MEMBER_RATIO: u64 = 200;

/// Members below this size are never refused for their ratio (tiny members compress oddly).
pub const RATIO_FLOOR_BYTES: u64 = 1024 * 1024;

/// Largest snapshot manifest (`snapshots/<id>.json`). A manifest lists each bundle member in
/// about 270 bytes: the emulator's large account (9,327 assets exported with their
/// dependencies, 59,831 members) writes 16 MB, so 64 MiB holds about four times that. A
/// manifest is parsed whole, at about three times its size.
pub const MAX_MANIFEST_BYTES: u64 = 64 * 1024 * 1024;

/// Largest identities document (`identities/<id>.json`): a user takes about 400 bytes, a
/// membership about 40, so 100,000 users in several groups each stay under 64 MiB (the large
/// emulated account's is 1.2 MB).
pub const MAX_IDENTITIES_BYTES: u64 = 128 * 1024 * 1024;

/// Largest account document (`account/<id>.json`): settings, customizations, brands, custom
/// permissions and folders (1.4 MB in the large emulated account, 500 folders).
pub const MAX_ACCOUNT_BYTES: u64 = 64 * 1024 * 1024;

/// `the snapshot manifest is N bytes, over the L byte limit (64 MiB); it is not read`.
pub fn too_large_text(what: &str, size: Option<u64>, limit: u64) -> String {
    let mib = limit / (1024 * 1024);
    match size {
        Some(size) => format!("the {what} is {size} bytes, over the {limit} byte limit ({mib} MiB); it is not read"),
        None => format!("the {what} holds more than the {limit} byte limit ({mib} MiB); reading stopped there"),
    }
}

/// Whether a failed read of a zip member is the zip reader stopping it at the size its headers
/// declare: the member holds more than it says, the sign of a decompression bomb that lies about
/// its size. zip gives this no error variant of its own, so its message is matched; the bomb
/// tests (`verify::zip_check`, `tests/repository_limits.rs`) catch a change of wording.
pub fn holds_more_than_declared(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::InvalidData && e.to_string().contains("larger than its declared")
}
