use super::*;
use crate::testutil::zip_of;
use std::io::Write;

fn inspect_bytes(bytes: &[u8], limits: &ZipLimits) -> ZipInspection {
    let path = std::env::temp_dir().join(format!(
        "qsb-zipcheck-{}-{}.zip",
        std::process::id(),
        hex::encode(rand::random::<[u8; 6]>())
    ));
    std::fs::write(&path, bytes).unwrap();
    let result = inspect(&path, limits);
    let _ = std::fs::remove_file(&path);
    result
}

fn kinds(i: &ZipInspection) -> Vec<ZipProblemKind> {
    i.problems.iter().map(|p| p.kind).collect()
}

/// Byte offsets of every header with signature `sig`.
fn headers(bytes: &[u8], sig: [u8; 4]) -> Vec<usize> {
    bytes
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == sig)
        .map(|(i, _)| i)
        .collect()
}

const LOCAL: [u8; 4] = [0x50, 0x4b, 0x03, 0x04];
const CENTRAL: [u8; 4] = [0x50, 0x4b, 0x01, 0x02];

fn patch_u16(bytes: &mut [u8], at: usize, f: impl Fn(u16) -> u16) {
    let v = f(u16::from_le_bytes([bytes[at], bytes[at + 1]]));
    bytes[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn a_clean_bundle_passes_and_every_member_is_hashed() {
    let body = r#"{"resourceType":"dataset","dataSetId":"d1"}"#;
    let i = inspect_bytes(
        &zip_of(&[("dataset/d1.json", body), ("refreshSchedule/s.json", "{}")]),
        &ZipLimits::default(),
    );
    assert!(i.problems.is_empty(), "{:?}", i.problems);
    assert_eq!(
        i.hashes["dataset/d1.json"],
        hex::encode(Sha256::digest(body.as_bytes()))
    );
    assert_eq!(i.hashes.len(), 2);
}

#[test]
fn unsafe_paths_are_named() {
    for name in [
        "../evil.json",
        "/etc/passwd",
        "a/../../b.json",
        "C:/x.json",
        "a\\b.json",
    ] {
        assert!(unsafe_path(name).is_some(), "{name}");
    }
    for name in ["dataset/a..b.json", "dataset/x.json", ".hidden"] {
        assert!(unsafe_path(name).is_none(), "{name}");
    }
    let i = inspect_bytes(
        &zip_of(&[("../evil.json", "{}"), ("/abs.json", "{}"), ("dataset/ok.json", "{}")]),
        &ZipLimits::default(),
    );
    assert_eq!(kinds(&i), vec![ZipProblemKind::UnsafePath, ZipProblemKind::UnsafePath]);
    assert!(i.problems[0].message.contains("../evil.json"), "{:?}", i.problems);
    assert_eq!(i.hashes.keys().collect::<Vec<_>>(), vec!["dataset/ok.json"]);
}

#[test]
fn encrypted_members_are_reported_not_read() {
    let mut bytes = zip_of(&[("dataset/d.json", "{\"secret\":1}")]);
    for at in headers(&bytes, LOCAL) {
        patch_u16(&mut bytes, at + 6, |f| f | 1);
    }
    for at in headers(&bytes, CENTRAL) {
        patch_u16(&mut bytes, at + 8, |f| f | 1);
    }
    let i = inspect_bytes(&bytes, &ZipLimits::default());
    assert_eq!(kinds(&i), vec![ZipProblemKind::Encrypted]);
    assert!(i.hashes.is_empty());
}

#[test]
fn odd_compression_methods_are_reported() {
    let mut bytes = zip_of(&[("dataset/d.json", "{}")]);
    for at in headers(&bytes, LOCAL) {
        patch_u16(&mut bytes, at + 8, |_| 12);
    }
    for at in headers(&bytes, CENTRAL) {
        patch_u16(&mut bytes, at + 10, |_| 12);
    }
    let i = inspect_bytes(&bytes, &ZipLimits::default());
    assert_eq!(kinds(&i), vec![ZipProblemKind::UnsupportedCompression]);
}

#[test]
fn decompression_bombs_are_caught_by_ratio_declared_size_and_total() {
    let zeros = "\0".repeat(256 * 1024);
    let small = ZipLimits {
        max_member_bytes: 1024 * 1024,
        max_total_bytes: 400 * 1024,
        max_ratio: 50,
        ratio_floor_bytes: 64 * 1024,
    };
    let i = inspect_bytes(&zip_of(&[("dataset/bomb.json", &zeros)]), &small);
    assert_eq!(kinds(&i), vec![ZipProblemKind::DecompressionBomb]);
    assert!(i.problems[0].message.contains("decompression bomb"), "{:?}", i.problems);

    // A member that holds more than it declares (the central directory lies).
    let mut lie = zip_of(&[("dataset/a.json", &"x".repeat(5000))]);
    for at in headers(&lie, CENTRAL) {
        lie[at + 24..at + 28].copy_from_slice(&100u32.to_le_bytes());
    }
    for at in headers(&lie, LOCAL) {
        lie[at + 22..at + 26].copy_from_slice(&100u32.to_le_bytes());
    }
    let i = inspect_bytes(&lie, &ZipLimits::default());
    assert!(
        kinds(&i).contains(&ZipProblemKind::DecompressionBomb),
        "{:?}",
        i.problems
    );
    assert!(i.hashes.is_empty());

    // Many members each under the limits, over the total.
    let chunk = "y".repeat(150 * 1024);
    let i = inspect_bytes(
        &zip_of(&[
            ("dataset/1.json", &chunk),
            ("dataset/2.json", &chunk),
            ("dataset/3.json", &chunk),
        ]),
        &ZipLimits {
            max_ratio: 100_000,
            ..small
        },
    );
    assert!(
        kinds(&i).contains(&ZipProblemKind::DecompressionBomb),
        "{:?}",
        i.problems
    );
}

#[test]
fn duplicate_names_and_garbage_are_malformed() {
    let mut bytes = zip_of(&[("dataset/x.json", "{\"a\":1}"), ("dataset/y.json", "{\"b\":2}")]);
    let positions: Vec<usize> = bytes
        .windows(14)
        .enumerate()
        .filter(|(_, w)| *w == b"dataset/y.json")
        .map(|(i, _)| i)
        .collect();
    for at in positions {
        bytes[at..at + 14].copy_from_slice(b"dataset/x.json");
    }
    let i = inspect_bytes(&bytes, &ZipLimits::default());
    assert!(kinds(&i).contains(&ZipProblemKind::MalformedZip), "{:?}", i.problems);

    let i = inspect_bytes(b"not a zip at all", &ZipLimits::default());
    assert_eq!(kinds(&i), vec![ZipProblemKind::MalformedZip]);
}

#[test]
fn corrupted_member_data_is_reported() {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("dataset/d.json", stored).unwrap();
    zip.write_all(b"{\"name\":\"Sales\"}").unwrap();
    let mut bytes = zip.finish().unwrap().into_inner();
    let at = bytes.windows(5).position(|w| w == b"Sales").unwrap();
    bytes[at] = b'T';
    let i = inspect_bytes(&bytes, &ZipLimits::default());
    assert_eq!(kinds(&i), vec![ZipProblemKind::Corrupt]);
}
