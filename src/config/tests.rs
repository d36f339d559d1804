//! The configuration's layers, limits, example file and redaction.

use clap::Parser;

use super::*;

fn flags(args: &[&str]) -> Flags {
    Flags::try_parse_from(std::iter::once("switchboard").chain(args.iter().copied())).unwrap()
}

#[test]
fn flags_override_the_file_which_overrides_defaults() {
    let dir = std::env::temp_dir().join(format!("sb-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("c.toml");
    std::fs::write(&file, "workers = 3\n[limits]\nmax_clients = 5\noutbound_queue = 64\n").unwrap();
    let path = file.to_str().unwrap();
    let config = Config::load(flags(&["--config", path, "--max-clients", "7"])).unwrap();
    assert_eq!(config.workers, 3);
    assert_eq!(config.limits.max_clients, 7);
    assert_eq!(config.limits.outbound_queue, 64);
    assert_eq!(config.limits.max_frame_bytes, Limits::default().max_frame_bytes);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_example_config_parses_to_the_defaults() {
    let example: Config = toml::from_str(include_str!("../../deploy/config.example.toml")).unwrap();
    example.validate().unwrap();
    assert_eq!(format!("{example:?}"), format!("{:?}", Config::default()));
}

#[test]
fn cluster_settings_and_redaction() {
    assert!(Config::default().cluster().is_none());
    let config =
        Config::load(flags(&["--redis-url", "redis://u:secret@r:6379/0", "--node-ttl-ms", "4000"]))
            .unwrap();
    let cluster = config.cluster().unwrap();
    assert_eq!(cluster.node_ttl, Duration::from_secs(4));
    assert_eq!(cluster.prefix, "switchboard");
    let shown = format!("{:?}", config.redacted());
    assert!(!shown.contains("u:secret@") && shown.contains("redis://u:***@r:6379/0"), "{shown}");
    assert!(Config::load(flags(&["--redis-url", "http://r"])).is_err());
    let authed = Config::load(flags(&["--auth-secret", "s3cr3t-value"])).unwrap();
    assert!(matches!(authed.auth(), Ok(Some(_))) && matches!(Config::default().auth(), Ok(None)));
    let shown = format!("{:?}", authed.redacted());
    assert!(!shown.contains("s3cr3t-value") && shown.contains("<redacted>"), "{shown}");
    assert!(Config::load(flags(&["--heartbeat-interval-ms", "2000"])).is_err());
}

#[test]
fn unknown_keys_and_bad_values_are_refused() {
    assert!(toml::from_str::<Config>("listne = \"0.0.0.0:1\"").is_err());
    assert!(toml::from_str::<Config>("[limits]\nmax_frames = 1").is_err());
    assert!(Config::load(flags(&["--ping-interval-ms", "5"])).is_err());
    assert!(Config::load(flags(&["--outbound-queue", "2"])).is_err());
    assert!(Config::load(flags(&[])).is_ok());
}

#[test]
fn tenants_need_valid_names_and_usable_keys() {
    let parse = |text: &str| toml::from_str::<Config>(text).expect("parses");
    let ok =
        parse("[tenants.acme]\nsecret = \"a\"\nmax_clients = 10\n[tenants.beta]\nsecret = \"b\"");
    assert!(ok.validate().is_ok() && matches!(ok.auth(), Ok(Some(_))));
    assert_eq!(ok.tenants["acme"].max_clients, 10);
    let shown = format!("{:?}", ok.redacted());
    assert!(!shown.contains("\"a\"") && shown.contains("<redacted>"), "{shown}");
    for bad in [
        "[tenants.\"a:b\"]\nsecret = \"a\"",
        "[tenants.keyless]\nmax_clients = 1",
        "[tenants.acme]\njwks_file = \"/nonexistent/jwks.json\"",
        "[auth]\njwks_file = \"Cargo.toml\"",
    ] {
        let err = parse(bad).validate().expect_err(bad).to_string();
        assert!(err.contains("tenants.") || err.contains("auth.jwks_file"), "{err}");
    }
    assert!(toml::from_str::<Config>("[tenants.acme]\nsecrets = \"a\"").is_err());
}
