//! The account guard (allowed account ids) in a step.

use super::*;

/// Another account than the stand-in's (ACCOUNT).
const OTHER_ACCOUNT: &str = "210987654321";

/// The account guard (docs/reference.md §12): a role outside the listed
/// accounts stops the run before anything is sent or opened, under every
/// spelling and under `--check`; a list that holds the role's account,
/// among several, lets the run through.
#[test]
fn the_account_guard_refuses_before_any_request() {
    let sts = StandIn::start();
    for (key, list) in [
        ("PLUGIN_ALLOWEDACCOUNTIDS", OTHER_ACCOUNT.to_string()),
        (
            "PLUGIN_ALLOWED_ACCOUNT_IDS",
            format!("{OTHER_ACCOUNT},\n111111111111 ,333333333333"),
        ),
    ] {
        let step = Step::harness(&sts).set(key, &list);
        for args in [&[][..], &["--check"][..]] {
            let out = step.run(args);
            out.expect(2);
            assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
            let line = out.last_line();
            assert!(
                line.contains(&format!(
                    "the role {ROLE} (from PLUGIN_IAMROLEARN) is in account {ACCOUNT}, which {key} does not list ({OTHER_ACCOUNT}, "
                )) || line.contains(&format!("which {key} does not list ({OTHER_ACCOUNT});")),
                "{line}"
            );
            assert!(
                line.contains(&format!("add the account to {key}")),
                "{line}"
            );
            assert_eq!(out.stdout, "");
            out.assert_hides(&[&step.token]);
        }
        assert_eq!(sts.counts(), (0, 0), "a request reached STS");
        assert!(!step.secret_file.exists() && !step.vars_file.exists());
    }
    // The flag wins over env; the role's account among several passes.
    let step = Step::harness(&sts).set("PLUGIN_ALLOWED_ACCOUNT_IDS", OTHER_ACCOUNT);
    let list = format!("111111111111,{ACCOUNT},{OTHER_ACCOUNT}");
    let out = step.run(&["--check", "--allowed-account-ids", &list]);
    out.expect(0);
    assert!(
        out.stdout.contains(&format!(
            "allowed accounts: 111111111111, {ACCOUNT}, {OTHER_ACCOUNT} (from --allowed-account-ids)\n"
        )),
        "{}",
        out.stdout
    );
    step.run(&["--allowed-account-ids", &list]).expect(0);
    assert_eq!(sts.counts(), (1, 1));
    assert!(step.secrets().contains("AWS_SESSION_TOKEN="));
}

/// Each bad entry of the list is named, whatever its place, before any
/// request.
#[test]
fn bad_allowed_account_ids_name_the_entry() {
    let sts = StandIn::start();
    for (list, entry) in [
        ("12345678901", "`12345678901`"),
        ("123456789012,1234567890123", "`1234567890123`"),
        ("123456789012 210987654321", "`123456789012 210987654321`"),
        ("123456789012;210987654321", "`123456789012;210987654321`"),
        (
            "arn:aws:iam::123456789012:root",
            "`arn:aws:iam::123456789012:root`",
        ),
        ("123456789012,12345678901O", "`12345678901O`"),
    ] {
        let out = Step::harness(&sts)
            .set("PLUGIN_ALLOWED_ACCOUNT_IDS", list)
            .run(&[]);
        out.expect(2);
        assert!(
            out.last_line().contains(&format!(
                "error: PLUGIN_ALLOWED_ACCOUNT_IDS: {entry} is not a 12-digit account id; list account ids separated by commas"
            )),
            "{list}: {}",
            out.stderr
        );
    }
    let out = Step::harness(&sts)
        .set("PLUGIN_ALLOWED_ACCOUNT_IDS", " , ")
        .run(&[]);
    out.expect(2);
    assert!(out.last_line().contains("the list holds no account id"));
    assert_eq!(sts.counts(), (0, 0));
}

/// An answer whose assumed-role ARN is in another account is refused
/// after the request and before any output: exit 5, the files the run
/// created removed and one that was there back to its old text. Without
/// the guard the same answer is written, so the guard is what refuses it.
#[test]
fn an_answer_from_another_account_is_refused_and_nothing_written() {
    let sts = StandIn::start();
    let guarded = || Step::harness(&sts).set("PLUGIN_ALLOWED_ACCOUNT_IDS", ACCOUNT);
    for level in ["info", "trace"] {
        let step = guarded().set("PLUGIN_LOG_LEVEL", level);
        sts.script([Reply::StsAsAccount(OTHER_ACCOUNT)]);
        let out = step.run(&[]);
        out.expect(5);
        let issued = sts.issued().pop().unwrap();
        assert!(issued.assumed_role_arn.contains(OTHER_ACCOUNT));
        assert!(
            out.last_line().contains(&format!(
                "STS answered with credentials for {} in account {OTHER_ACCOUNT}, which PLUGIN_ALLOWED_ACCOUNT_IDS does not list ({ACCOUNT}); nothing was written",
                issued.assumed_role_arn
            )),
            "{}",
            out.stderr
        );
        assert!(!step.secret_file.exists() && !step.vars_file.exists());
        out.assert_hides(
            &secrets_of(&sts, &step.token)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
    }
    let step = guarded();
    std::fs::write(&step.secret_file, "EARLIER=1\n").unwrap();
    chmod(&step.secret_file, 0o600);
    sts.script([Reply::StsAsAccount(OTHER_ACCOUNT)]);
    step.run(&[]).expect(5);
    assert_eq!(step.secrets(), "EARLIER=1\n");
    sts.script([Reply::StsAsAccount(OTHER_ACCOUNT)]);
    Step::harness(&sts).run(&[]).expect(0);
}

/// Under mask account no account id reaches stderr from the guard, at any
/// level: neither the role's, nor the listed ones, nor the answer's.
#[test]
fn under_mask_account_the_guard_shows_no_account_id() {
    let sts = StandIn::start();
    for level in ["info", "trace"] {
        let masked = |allowed: &str| {
            Step::harness(&sts)
                .set("PLUGIN_MASK_ACCOUNT_ID", "true")
                .set("PLUGIN_LOG_LEVEL", level)
                .set("PLUGIN_ALLOWED_ACCOUNT_IDS", allowed)
        };
        let refused = masked(&format!("{OTHER_ACCOUNT},111111111111"));
        let before = refused.run(&[]);
        before.expect(2);
        let check = refused.run(&["--check"]);
        check.expect(2);
        sts.script([Reply::StsAsAccount(OTHER_ACCOUNT)]);
        let after = masked(ACCOUNT).run(&[]);
        after.expect(5);
        for out in [&before, &check, &after] {
            for id in [ACCOUNT, OTHER_ACCOUNT, "111111111111"] {
                assert!(!out.stderr.contains(id), "{id} at {level}:\n{}", out.stderr);
            }
            assert!(
                out.last_line()
                    .contains("account ids are masked because mask account is on"),
                "{}",
                out.stderr
            );
        }
        assert!(before.last_line().contains(
            "the role arn:aws:iam::************:role/harness-ci (from PLUGIN_IAMROLEARN) is in account ************, which PLUGIN_ALLOWED_ACCOUNT_IDS does not list (2 account ids, masked)"
        ), "{}", before.stderr);
        assert!(after.last_line().contains(
            "for arn:aws:sts::************:assumed-role/harness-ci/harness-aws-oidc in account ************"
        ), "{}", after.stderr);
    }
}
