//! The declared minimum Rust version is true: no locked dependency needs a newer one, and the
//! Docker image builds with exactly that version.

use serde_json::Value;

/// `1.89` or `1.89.0` as comparable numbers (a missing patch is 0).
fn version(text: &str) -> (u64, u64, u64) {
    let mut parts = text.trim().split('.').map(|p| p.parse::<u64>().expect("a numeric version"));
    let mut next = || parts.next().unwrap_or(0);
    (next(), next(), next())
}

/// `rust-version` from a manifest's text.
fn declared(manifest: &str) -> (u64, u64, u64) {
    let line = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .expect("the manifest declares rust-version");
    version(line.trim_matches('"'))
}

#[test]
fn the_declared_msrv_covers_every_locked_dependency_and_the_image_uses_it() {
    let root = env!("CARGO_MANIFEST_DIR");
    let ours = declared(include_str!("../../Cargo.toml"));
    assert_eq!(declared(include_str!("../../actors/Cargo.toml")), ours, "the crates agree");
    assert_eq!(declared(include_str!("../../bench/Cargo.toml")), ours, "the crates agree");

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .current_dir(root)
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("metadata is JSON");
    let packages = metadata["packages"].as_array().expect("packages");
    let (needs, who) = packages
        .iter()
        .filter_map(|p| Some((version(p["rust_version"].as_str()?), p["name"].as_str()?)))
        .max()
        .expect("some package declares a rust-version");
    assert!(needs <= ours, "{who} needs Rust {needs:?} but Cargo.toml declares {ours:?}");

    let dockerfile = include_str!("../../deploy/Dockerfile");
    let image = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("FROM rust:"))
        .expect("the build stage is FROM rust:<version>");
    let tag = image.split(['-', ' ']).next().expect("a tag");
    assert_eq!(version(tag), ours, "deploy/Dockerfile builds with the declared MSRV");
}
