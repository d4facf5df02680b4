//! Unit tests of the settings: every spelling, every rule, every message.

use super::defs::{edit_distance, nearest};
use super::files::{certificates, looks_like_path, token_problem};
use super::*;
use crate::testing::{inputs, resolve, NoFiles, OneFile};

mod names;
mod network;
mod tokens;
mod values;

/// The proxy URL for the client and the form shown in logs.
fn parse_proxy(s: &str) -> Result<(String, String), String> {
    crate::proxy::parse(s).map(|p| (p.url.expose().to_string(), p.display))
}

const ARN: &str = "arn:aws:iam::123456789012:role/ci";

fn ok(env: &[(&str, &str)], flags: &[&str]) -> Settings {
    resolve(&inputs(env, flags), &mut NoFiles).unwrap()
}

fn err(env: &[(&str, &str)], flags: &[&str]) -> String {
    resolve(&inputs(env, flags), &mut NoFiles)
        .unwrap_err()
        .to_string()
}

/// The reference's table (`docs/reference.md` §1.2), copied: every
/// setting's env names in order.
const REFERENCE_NAMES: &[(&str, &[&str])] = &[
    (
        "role ARN",
        &[
            "PLUGIN_IAM_ROLE_ARN",
            "PLUGIN_ROLE_ARN",
            "PLUGIN_IAMROLEARN",
            "PLUGIN_ROLEARN",
            "AWS_ROLE_ARN",
        ],
    ),
    (
        "token",
        &[
            "PLUGIN_OIDC_TOKEN_ID",
            "PLUGIN_OIDC_TOKEN",
            "PLUGIN_OIDCTOKENID",
            "PLUGIN_OIDCTOKEN",
        ],
    ),
    (
        "token file",
        &[
            "PLUGIN_OIDC_TOKEN_FILE",
            "PLUGIN_OIDCTOKENFILE",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
        ],
    ),
    (
        "token command",
        &["PLUGIN_OIDC_TOKEN_COMMAND", "PLUGIN_OIDCTOKENCOMMAND"],
    ),
    (
        "session name",
        &[
            "PLUGIN_ROLE_SESSION_NAME",
            "PLUGIN_ROLESESSIONNAME",
            "AWS_ROLE_SESSION_NAME",
        ],
    ),
    (
        "duration",
        &[
            "PLUGIN_DURATION",
            "PLUGIN_DURATION_SECONDS",
            "PLUGIN_DURATIONSECONDS",
        ],
    ),
    (
        "region",
        &["PLUGIN_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"],
    ),
    (
        "STS endpoint",
        &[
            "PLUGIN_STS_ENDPOINT",
            "PLUGIN_ENDPOINT",
            "PLUGIN_STSENDPOINT",
            "AWS_ENDPOINT_URL_STS",
            "AWS_ENDPOINT_URL",
        ],
    ),
    ("FIPS endpoint", &["PLUGIN_FIPS", "AWS_USE_FIPS_ENDPOINT"]),
    (
        "dual-stack endpoint",
        &["PLUGIN_DUALSTACK", "AWS_USE_DUALSTACK_ENDPOINT"],
    ),
    ("regional vs global", &["AWS_STS_REGIONAL_ENDPOINTS"]),
    (
        "CA bundle",
        &[
            "PLUGIN_CA_BUNDLE",
            "PLUGIN_CABUNDLE",
            "AWS_CA_BUNDLE",
            "SSL_CERT_FILE",
        ],
    ),
    ("inline session policy", &["PLUGIN_POLICY"]),
    (
        "managed session policies",
        &["PLUGIN_POLICY_ARNS", "PLUGIN_POLICYARNS"],
    ),
    ("timeout", &["PLUGIN_TIMEOUT"]),
    ("attempts", &["PLUGIN_MAX_ATTEMPTS", "PLUGIN_MAXATTEMPTS"]),
    ("log level", &["PLUGIN_LOG_LEVEL", "PLUGIN_LOGLEVEL"]),
    ("secret output file", &["HARNESS_OUTPUT_SECRET_FILE"]),
    (
        "output variables file",
        &["DRONE_OUTPUT", "HARNESS_OUTPUT_FILE"],
    ),
    (
        "explicit output",
        &["PLUGIN_OUTPUT_FILE", "PLUGIN_OUTPUTFILE"],
    ),
    (
        "output format",
        &["PLUGIN_OUTPUT_FORMAT", "PLUGIN_OUTPUTFORMAT"],
    ),
    (
        "mask account id",
        &["PLUGIN_MASK_ACCOUNT_ID", "PLUGIN_MASKACCOUNTID"],
    ),
    ("credential cache", &["PLUGIN_CACHE"]),
    ("cache folder", &["PLUGIN_CACHE_DIR", "PLUGIN_CACHEDIR"]),
    (
        "allowed account ids",
        &["PLUGIN_ALLOWED_ACCOUNT_IDS", "PLUGIN_ALLOWEDACCOUNTIDS"],
    ),
    (
        "chained role ARNs",
        &["PLUGIN_CHAIN_ROLE_ARN", "PLUGIN_CHAINROLEARN"],
    ),
    ("external ID", &["PLUGIN_EXTERNAL_ID", "PLUGIN_EXTERNALID"]),
    ("verify", &["PLUGIN_VERIFY"]),
    ("serve", &["PLUGIN_SERVE"]),
    ("session tags", &["PLUGIN_TAGS"]),
    (
        "transitive tag keys",
        &["PLUGIN_TRANSITIVE_TAG_KEYS", "PLUGIN_TRANSITIVETAGKEYS"],
    ),
    (
        "source identity",
        &["PLUGIN_SOURCE_IDENTITY", "PLUGIN_SOURCEIDENTITY"],
    ),
    (
        "trust policy",
        &["PLUGIN_TRUST_POLICY", "PLUGIN_TRUSTPOLICY"],
    ),
    ("profile", &["PLUGIN_PROFILE"]),
    ("profile per role", &["PLUGIN_PROFILES"]),
    ("refreshable profile", &["PLUGIN_REFRESHABLE"]),
    (
        "overwrite long-lived keys",
        &["PLUGIN_OVERWRITE_PROFILE", "PLUGIN_OVERWRITEPROFILE"],
    ),
    ("several roles", &["PLUGIN_ROLES"]),
    ("name prefix", &["PLUGIN_ENV_PREFIX", "PLUGIN_ENVPREFIX"]),
];

#[test]
fn every_setting_reads_the_reference_names_in_the_reference_order() {
    assert_eq!(ALL.len(), REFERENCE_NAMES.len());
    for (def, (ref_name, ref_envs)) in ALL.iter().zip(REFERENCE_NAMES) {
        let name = def.name;
        assert_eq!((name, def.envs), (*ref_name, *ref_envs));
        // Each spelling wins over every later one, and a blank earlier
        // one does not count.
        for (i, env) in def.envs.iter().enumerate() {
            let mut map: BTreeMap<String, String> = def.envs[i..]
                .iter()
                .enumerate()
                .map(|(j, e)| (e.to_string(), format!(" value-{j} ")))
                .collect();
            for earlier in &def.envs[..i] {
                map.insert(earlier.to_string(), " ".into());
            }
            let inputs = Inputs {
                flags: vec![],
                env: map,
            };
            let got = inputs.get(def).unwrap();
            assert_eq!(
                (got.value.as_str(), got.source),
                ("value-0", Source::Env(env)),
                "{name}"
            );
            // A flag beats them all.
            if let Some(flag) = def.flag {
                let with_flag = Inputs {
                    flags: vec![(flag, "from-flag".into())],
                    ..inputs
                };
                assert_eq!(with_flag.get(def).unwrap().value, "from-flag", "{name}");
            }
        }
    }
}

/// The `--help` table as `docs/reference.md` §1.2 shows it, one row per
/// setting, made from the code's table.
fn reference_rows() -> Vec<String> {
    ALL.iter()
        .map(|d| {
            let flag = d.flag.map_or("—".to_string(), |f| format!("`{f}`"));
            let envs: Vec<String> = d.envs.iter().map(|e| format!("`{e}`")).collect();
            format!(
                "| {} | {flag} | {} | {} | {} |",
                d.name,
                envs.join(", "),
                d.default,
                d.accepts
            )
        })
        .collect()
}

#[test]
fn the_reference_table_is_the_settings_table() {
    let reference = include_str!("../../docs/reference.md");
    for row in reference_rows() {
        assert!(
            reference.contains(&format!("\n{row}\n")),
            "docs/reference.md §1.2 lacks or differs from:\n{row}"
        );
    }
    let rows = reference.lines().filter(|l| l.starts_with("| ")).count();
    assert!(rows > ALL.len());
}

/// Every row of the reference's settings table (§1.2) is whole: five
/// cells, closed by `|` (a merge once cut a row mid-word, and a check that
/// only looks for names in a row cannot see that), and §1.2-1.5 name the
/// code's proxy variables in order, as the table has no row for them.
#[test]
fn the_reference_table_rows_are_whole_and_the_proxy_names_are_the_codes() {
    let reference = include_str!("../../docs/reference.md");
    let section = &reference
        [reference.find("### 1.2 Every setting").unwrap()..reference.find("### 1.3").unwrap()];
    let rows: Vec<&str> = section.lines().filter(|l| l.starts_with('|')).collect();
    assert!(rows.len() > ALL.len());
    for row in &rows {
        assert!(
            row.ends_with(" |") || row.starts_with("|---"),
            "docs/reference.md §1.2 has a row that is not closed with |:\n{row}"
        );
        let cells = row.matches('|').count() - 1;
        assert_eq!(
            cells, 5,
            "docs/reference.md §1.2 has a row of {cells} cells, not 5:\n{row}"
        );
    }
    let proxy = &reference
        [reference.find("### 1.2 Every setting").unwrap()..reference.find("### 1.6").unwrap()];
    let proxy = proxy.split_whitespace().collect::<Vec<_>>().join(" ");
    let quoted = |names: &[&str]| {
        let names: Vec<String> = names.iter().map(|e| format!("`{e}`")).collect();
        names.join(", ")
    };
    for names in [PROXY_ENVS, NO_PROXY_ENVS] {
        assert!(
            proxy.contains(&quoted(names)),
            "docs/reference.md §1.2-1.5 do not name {} in this order",
            quoted(names)
        );
    }
}

#[test]
fn every_section_the_code_cites_exists_in_the_reference() {
    let reference = include_str!("../../docs/reference.md");
    let headings: Vec<&str> = reference
        .lines()
        .filter_map(|l| {
            l.trim_start_matches('#')
                .strip_prefix(' ')
                .filter(|_| l.starts_with("##"))
        })
        .filter_map(|h| h.split(' ').next())
        .collect();
    let mut cited = 0;
    for (path, text) in crate::testing::sources() {
        for (at, _) in text.match_indices("§") {
            let number: String = text[at + '§'.len_utf8()..]
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let number = number.trim_end_matches('.');
            if number.is_empty() {
                continue;
            }
            assert!(
                headings.contains(&number),
                "{path} cites §{number}, which docs/reference.md lacks"
            );
            cited += 1;
        }
        let outside = ["SP", "EC"].concat();
        assert!(
            !text.contains(&outside),
            "{path} cites {outside}, which is not in the repository"
        );
    }
    assert!(cited > 20, "{cited}");
}
