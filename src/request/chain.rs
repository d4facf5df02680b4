//! The run's calls (`docs/reference.md` §3 and §11): the web-identity
//! hop, each chained `AssumeRole` hop signed with the previous hop's
//! credentials, and `--verify`'s `GetCallerIdentity`, all through one
//! sender ([`Conn::send`]) within one deadline.

use std::time::Instant;

use super::{forms, Call, Conn, Context, Hint};
use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::log::Log;
use crate::response::{Answer, Credentials};
use crate::settings::Settings;

/// Runs every hop, in order, and `--verify` when it is on: the last hop's
/// credentials, or the first failure (nothing is written unless every hop
/// succeeds).
pub fn exchange(
    s: &Settings,
    endpoint: &Endpoint,
    ctx: &Context,
    deadline: Instant,
    log: &mut Log,
) -> Result<Credentials, Error> {
    hops(s, endpoint, ctx, deadline, None, log)
}

/// Runs the chained hops again, the first signed with `first`, the
/// web-identity hop's credentials of an earlier exchange that are still
/// good (`--serve`'s refresh, `docs/reference.md` §14.2): no token is sent.
pub fn rechain(
    s: &Settings,
    endpoint: &Endpoint,
    ctx: &Context,
    deadline: Instant,
    first: &Credentials,
    log: &mut Log,
) -> Result<Credentials, Error> {
    hops(s, endpoint, ctx, deadline, Some(first.clone()), log)
}

/// Every hop from the first (`start` none) or from the second, signed by
/// `start`.
fn hops(
    s: &Settings,
    endpoint: &Endpoint,
    ctx: &Context,
    deadline: Instant,
    start: Option<Credentials>,
    log: &mut Log,
) -> Result<Credentials, Error> {
    let mut conn = Conn::new(s, endpoint, deadline, log)?;
    if let Some(first) = &start {
        conn.learn(first, log);
    }
    conn.fresh = ctx.fresh;
    let hops = forms::hop_forms(s);
    let n = hops.len();
    if let Some(d) = s
        .duration
        .as_ref()
        .filter(|d| n > 1 && d.value > forms::CHAINED_MAX)
    {
        log.info(&format!(
            "the chained hops ask for {}s, not {}s (from {}): AWS caps a session reached by role chaining at one hour",
            forms::CHAINED_MAX,
            d.value,
            d.source
        ));
    }
    let skip = usize::from(start.is_some());
    let mut last = start;
    for (i, fields) in hops.iter().enumerate().skip(skip) {
        let call = Call {
            fields,
            signer: last.as_ref(),
            what: hop_name(s, i, n),
            hint: match &last {
                None => Hint::WebIdentity(ctx.claims),
                Some(prev) => Hint::Chained(prev.assumed_role_arn.as_deref()),
            },
        };
        let answer = conn
            .send(&call, log)
            .map_err(|e| naming(e, &call.what, n > 1))?;
        let c = credentials(answer, &call.what, endpoint)?;
        // Learnt first: its secrets and (under mask account) its account
        // are hidden from the refusals below.
        conn.learn(&c, log);
        as_asked(
            c.assumed_role_arn.as_deref(),
            call.role_arn(),
            &s.session_name.value,
        )
        .map_err(|e| Error::Response(format!("{}: {e}", call.what)))?;
        // Every hop's account, not only the last's: each hop's
        // credentials sign the next call (§12).
        crate::guard::check_answer(s, c.assumed_role_arn.as_deref())
            .map_err(|e| naming(e, &call.what, n > 1))?;
        if n > 1 {
            log.info(&format!(
                "hop {} of {n}: assumed {} until {}",
                i + 1,
                c.assumed_role_arn.as_deref().unwrap_or(call.role_arn()),
                c.expiration
            ));
        }
        if let Some(kept) = ctx.first_hop.filter(|_| i == 0 && n > 1) {
            *kept.borrow_mut() = Some(c.clone());
        }
        last = Some(c);
    }
    let Some(c) = last else {
        // hop_forms always gives the web-identity hop.
        return Err(Error::Response("no hop was made".into()));
    };
    if s.chain.verify {
        if let Verified::No(e) = conn.verify(&c, log)? {
            return Err(e);
        }
    }
    Ok(c)
}

/// How messages name hop `i` of `n` (§11.4): the action, and with a chain
/// its place and role.
fn hop_name(s: &Settings, i: usize, n: usize) -> String {
    match (i, n) {
        (_, 1) => "AssumeRoleWithWebIdentity".to_string(),
        (0, _) => format!(
            "AssumeRoleWithWebIdentity (hop 1 of {n}, role {})",
            s.role.arn
        ),
        _ => format!(
            "AssumeRole (hop {} of {n}, role {})",
            i + 1,
            s.chained()[i - 1].arn
        ),
    }
}

/// What `--verify` found, when STS answered.
#[derive(Debug)]
pub enum Verified {
    /// STS says the credentials are their assumed role.
    Yes,
    /// STS refused them as bad (`REFUSED_CREDENTIALS`), or says they are
    /// another identity: the run's error, and a reason to drop a cached
    /// entry (`docs/reference.md` §13.1).
    No(Error),
}

/// The codes with which STS says the credentials that signed a call are
/// bad: not valid, expired, not allowed, or not matching their signature.
/// A throttle or an outage says nothing about them.
const REFUSED_CREDENTIALS: [&str; 6] = [
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "AccessDenied",
    "AccessDeniedException",
    "SignatureDoesNotMatch",
];

/// Checks credentials with `sts:GetCallerIdentity` signed by them, as
/// `--verify` does after the last hop: for credentials from elsewhere (a
/// cache), within the run's `deadline`. The caller's `Arn` must be their
/// assumed-role ARN; else `Verified::No` (exit 5), naming both. An error
/// when STS gave no such answer (no answer, throttled, failing, not
/// understood): then nothing is known of the credentials.
pub fn verify(
    s: &Settings,
    endpoint: &Endpoint,
    c: &Credentials,
    deadline: Instant,
    log: &mut Log,
) -> Result<Verified, Error> {
    let mut conn = Conn::new(s, endpoint, deadline, log)?;
    conn.learn(c, log);
    conn.verify(c, log)
}

impl Conn<'_> {
    fn verify(&mut self, c: &Credentials, log: &mut Log) -> Result<Verified, Error> {
        let fields = forms::caller_identity_form();
        let call = Call {
            fields: &fields,
            signer: Some(c),
            what: "GetCallerIdentity (--verify)".into(),
            hint: Hint::Verify,
        };
        let host = &self.endpoint.host;
        let identity = match self.send(&call, log).map_err(|e| naming(e, &call.what, true)) {
            Err(Error::Sts(f)) if REFUSED_CREDENTIALS.contains(&f.code.as_str()) => {
                return Ok(Verified::No(Error::Sts(f)))
            }
            Err(e) => return Err(e),
            Ok(Answer::Identity(id)) => id,
            _ => {
                return Err(Error::Response(format!(
                    "{host} answered GetCallerIdentity (--verify) with another kind of answer; nothing was written; check that the endpoint is STS"
                )))
            }
        };
        if self.s.mask_account {
            if let Some(account) = crate::settings::account_of(&identity.arn) {
                log.mask_account(account);
            }
        }
        match c.assumed_role_arn.as_deref() {
            Some(arn) if arn == identity.arn => {
                log.info(&format!("verified: the credentials are {arn}"));
                Ok(Verified::Yes)
            }
            want => Ok(Verified::No(Error::Response(format!(
                "--verify: STS says the credentials are {}, not the assumed role {}; nothing was written; check that the endpoint is STS and that nothing in between alters its answers",
                identity.arn,
                want.unwrap_or("(STS named none)")
            )))),
        }
    }
}

/// With chaining, a hop's failure to get an answer (or one understood)
/// names the hop, as its refusal does; `--verify`'s always names its call.
fn naming(e: Error, what: &str, named: bool) -> Error {
    match e {
        Error::Network(m) if named => Error::Network(format!("{what}: {m}")),
        Error::Response(m) if named => Error::Response(format!("{what}: {m}")),
        e => e,
    }
}

/// A hop's answer as credentials: `--verify`'s identity answer to an
/// `AssumeRole` is not one.
fn credentials(answer: Answer, what: &str, endpoint: &Endpoint) -> Result<Credentials, Error> {
    match answer {
        Answer::Success(c) => Ok(*c),
        _ => Err(Error::Response(format!(
            "{} answered {what} without credentials; nothing was written; check that the endpoint is STS",
            endpoint.host
        ))),
    }
}

/// Checks that an answer's assumed-role ARN is the role asked for, as the
/// session sent (`docs/reference.md` §5.1, §11.1):
/// `arn:PARTITION:sts::ACCOUNT:assumed-role/NAME/SESSION`, NAME the last
/// part of the role ARN's path. The account is not compared: STS-compatible
/// servers answer with their own, and the account guard (§12) holds
/// accounts. An answer without the ARN (§5.1 allows one) passes.
pub fn as_asked(assumed: Option<&str>, role_arn: &str, session: &str) -> Result<(), String> {
    let Some(arn) = assumed else {
        return Ok(());
    };
    let name = role_arn.rsplit('/').next().unwrap_or_default();
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let want = format!("assumed-role/{name}/{session}");
    if let ["arn", _, "sts", "", _, resource] = parts[..] {
        if *resource == want {
            return Ok(());
        }
    }
    Err(format!(
        "STS answered with {arn}, not role {name} as session {session} (an ARN ending in :{want}); \
         nothing was written; check that the endpoint is STS and that nothing in between alters its answers"
    ))
}

#[cfg(test)]
mod tests {
    use super::as_asked;

    #[test]
    fn an_answer_must_name_the_role_and_session_asked_for() {
        let role = "arn:aws:iam::111111111111:role/path/deploy";
        for ok in [
            Some("arn:aws:sts::111111111111:assumed-role/deploy/s1"),
            // Another account or partition: the account guard's business.
            Some("arn:aws-cn:sts::123456789012:assumed-role/deploy/s1"),
            None,
        ] {
            assert_eq!(as_asked(ok, role, "s1"), Ok(()), "{ok:?}");
        }
        for bad in [
            "arn:aws:sts::111111111111:assumed-role/admin/s1",
            "arn:aws:sts::111111111111:assumed-role/deploy/s2",
            "arn:aws:sts::111111111111:assumed-role/path/deploy/s1",
            "arn:aws:sts::111111111111:assumed-role/deploy/s1/x",
            "arn:aws:iam::111111111111:assumed-role/deploy/s1",
            "arn:aws:sts:us-east-1:111111111111:assumed-role/deploy/s1",
            "arn:aws:sts::111111111111:federated-user/deploy/s1",
            "assumed-role/deploy/s1",
            "",
        ] {
            let e = as_asked(Some(bad), role, "s1").unwrap_err();
            assert!(
                e.starts_with(&format!("STS answered with {bad}, not role deploy as session s1 (an ARN ending in :assumed-role/deploy/s1); nothing was written")),
                "{e}"
            );
        }
    }
}
