//! The contract's flags. The password comes from `XMPP_PASSWORD`, never
//! from argv, and is never printed.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use xmpp_proto::stanza::{BareJid, FullJid, Jid};

/// The usage text (printed to stderr).
pub const USAGE: &str = "\
usage: xmpp-cli --jid JID [FLAGS]   (password in the XMPP_PASSWORD environment variable)

  --jid JID            the account (required); a full JID (alice@example.com/phone)
                       asks for its resource
  --resource RES       the resource to ask for (default: the server assigns one)
  --host HOST          connect here instead of resolving the domain's SRV records
  --port PORT          with --host (default 5222, or 5223 with --direct-tls)
  --direct-tls         TLS from the first byte (XEP-0368) instead of STARTTLS
  --ca-file PEM        also trust this CA certificate (the normal roots stay trusted)
  --allow-plaintext    permit a session without TLS (SASL PLAIN stays refused without TLS)
  --timeout SECS       give up if not online within SECS (default 30)
  --reconnect          reconnect automatically after a lost connection
  --store PATH         keep state between runs (not implemented yet: warned and ignored)
  --help               this text

stdin: one JSON command a line ({\"cmd\":\"send\",\"to\":\"bob@example.com\",\"body\":\"hi\"});
stdout: one JSON event a line; diagnostics on stderr.
exit: 0 clean, 2 usage, 3 authentication, 4 TLS, 5 connection or stream";

/// The parsed flags.
#[derive(Clone)]
pub struct Args {
    /// The account (the bare part of `--jid`).
    pub jid: BareJid,
    /// From `XMPP_PASSWORD`.
    pub password: String,
    /// The resource to ask for: `--resource`, or the resource of a full
    /// `--jid`.
    pub resource: Option<String>,
    /// `--host`/`--port`, completed with defaults when only one is given.
    pub server: Option<(String, u16)>,
    /// `--direct-tls`.
    pub direct_tls: bool,
    /// `--ca-file`.
    pub ca_file: Option<PathBuf>,
    /// `--allow-plaintext`.
    pub allow_plaintext: bool,
    /// `--timeout` (default 30 s).
    pub timeout: Duration,
    /// `--reconnect`.
    pub reconnect: bool,
    /// `--store` (accepted; not implemented yet).
    pub store: Option<PathBuf>,
}

impl fmt::Debug for Args {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Args")
            .field("jid", &self.jid)
            .field("password", &"<redacted>")
            .field("resource", &self.resource)
            .field("server", &self.server)
            .field("direct_tls", &self.direct_tls)
            .field("ca_file", &self.ca_file)
            .field("allow_plaintext", &self.allow_plaintext)
            .field("timeout", &self.timeout)
            .field("reconnect", &self.reconnect)
            .field("store", &self.store)
            .finish()
    }
}

/// Why the flags were not accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum ArgsError {
    /// `--help`: print the usage, exit 0.
    Help,
    /// Anything else: print the message and the usage, exit 2.
    Bad(String),
}

impl fmt::Display for ArgsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgsError::Help => f.write_str("help requested"),
            ArgsError::Bad(m) => f.write_str(m),
        }
    }
}

/// Parses the flags (without the program name). `--flag value` and
/// `--flag=value` are both accepted.
pub fn parse(
    argv: impl IntoIterator<Item = String>,
    password: Option<String>,
) -> Result<Args, ArgsError> {
    let bad = |m: String| Err(ArgsError::Bad(m));
    let mut jid = None;
    let mut resource = None;
    let mut host = None;
    let mut port = None;
    let mut direct_tls = false;
    let mut ca_file = None;
    let mut allow_plaintext = false;
    let mut timeout = Duration::from_secs(30);
    let mut reconnect = false;
    let mut store = None;

    let mut argv = argv.into_iter();
    while let Some(arg) = argv.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let takes_value = matches!(
            flag.as_str(),
            "--jid" | "--resource" | "--host" | "--port" | "--ca-file" | "--timeout" | "--store"
        );
        let value = if takes_value {
            match inline.or_else(|| argv.next()) {
                Some(v) => v,
                None => return bad(format!("{flag} needs a value")),
            }
        } else if inline.is_some() {
            return bad(format!("{flag} takes no value"));
        } else {
            String::new()
        };
        match flag.as_str() {
            "--help" | "-h" => return Err(ArgsError::Help),
            "--jid" => match value.parse::<Jid>() {
                Ok(j) => jid = Some(j),
                Err(e) => return bad(format!("--jid {value:?} is not a JID: {e}")),
            },
            "--resource" if value.is_empty() => return bad("--resource is empty".into()),
            "--resource" => resource = Some(value),
            "--host" if value.is_empty() => return bad("--host is empty".into()),
            "--host" => host = Some(value),
            "--port" => match value.parse::<u16>() {
                Ok(p) if p != 0 => port = Some(p),
                _ => return bad(format!("--port {value:?} is not a port number")),
            },
            "--direct-tls" => direct_tls = true,
            "--ca-file" if value.is_empty() => {
                return bad("--ca-file is empty (an unset shell variable?)".into())
            }
            "--ca-file" => ca_file = Some(PathBuf::from(value)),
            "--allow-plaintext" => allow_plaintext = true,
            "--timeout" => match value.parse::<f64>() {
                Ok(s) if s.is_finite() && s > 0.0 && s < 1e9 => {
                    timeout = Duration::from_secs_f64(s)
                }
                _ => {
                    return bad(format!(
                        "--timeout {value:?} is not a positive number of seconds"
                    ))
                }
            },
            "--reconnect" => reconnect = true,
            "--store" => store = Some(PathBuf::from(value)),
            "--password" => {
                return bad(
                    "the password is read from XMPP_PASSWORD, never from the command line".into(),
                )
            }
            other => return bad(format!("unknown argument {other:?}")),
        }
    }
    let Some(jid) = jid else {
        return bad("--jid is required".into());
    };
    // A full JID asks for its resource; `--resource` may repeat it, not
    // contradict it (compared as resources, after the JID's normalization).
    let resource = match (jid.resource(), resource) {
        (None, resource) => resource,
        (Some(own), None) => Some(own.as_str().to_string()),
        (Some(own), Some(flag)) => {
            let same = format!("{}/{flag}", jid.to_bare())
                .parse::<FullJid>()
                .is_ok_and(|full| full.resource() == own);
            if !same {
                return bad(format!(
                    "--jid {jid} asks for the resource {:?} and --resource for {flag:?}: \
                     give one of them",
                    own.as_str()
                ));
            }
            Some(own.as_str().to_string())
        }
    };
    let jid = jid.into_bare();
    let Some(password) = password.filter(|p| !p.is_empty()) else {
        return bad("set the password in the XMPP_PASSWORD environment variable".into());
    };
    let default_port = if direct_tls { 5223 } else { 5222 };
    let server = match (host, port) {
        (None, None) => None,
        (Some(h), p) => Some((h, p.unwrap_or(default_port))),
        (None, Some(p)) => Some((jid.domain().as_str().to_string(), p)),
    };
    Ok(Args {
        jid,
        password,
        resource,
        server,
        direct_tls,
        ca_file,
        allow_plaintext,
        timeout,
        reconnect,
        store,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_flags(flags: &[&str]) -> Result<Args, ArgsError> {
        parse(
            flags.iter().map(|f| f.to_string()),
            Some("secret".to_string()),
        )
    }

    fn bad(flags: &[&str]) -> String {
        match parse_flags(flags) {
            Err(ArgsError::Bad(message)) => message,
            other => panic!("{flags:?} accepted: {other:?}"),
        }
    }

    #[test]
    fn a_bare_jid_lets_the_server_choose_unless_resource_is_given() {
        let args = parse_flags(&["--jid", "alice@example.com"]).unwrap();
        assert_eq!(args.jid.as_str(), "alice@example.com");
        assert_eq!(args.resource, None);
        let args = parse_flags(&["--jid", "alice@example.com", "--resource", "desk"]).unwrap();
        assert_eq!(args.resource.as_deref(), Some("desk"));
    }

    #[test]
    fn a_full_jid_asks_for_its_resource() {
        let args = parse_flags(&["--jid", "alice@example.com/phone"]).unwrap();
        assert_eq!(
            args.jid.as_str(),
            "alice@example.com",
            "the account is bare"
        );
        assert_eq!(args.resource.as_deref(), Some("phone"));
        // The domain and node are normalized; the resource keeps its case.
        let args = parse_flags(&["--jid=Alice@Example.COM/Phone"]).unwrap();
        assert_eq!(args.jid.as_str(), "alice@example.com");
        assert_eq!(args.resource.as_deref(), Some("Phone"));
        // With --port alone, the host is the bare JID's domain.
        let args = parse_flags(&["--jid", "alice@example.com/phone", "--port", "5300"]).unwrap();
        assert_eq!(args.server, Some(("example.com".to_string(), 5300)));
    }

    #[test]
    fn a_full_jid_with_the_same_resource_repeated_is_accepted() {
        for order in [
            ["--jid", "alice@example.com/phone", "--resource", "phone"],
            ["--resource", "phone", "--jid", "alice@example.com/phone"],
        ] {
            let args = parse_flags(&order).unwrap();
            assert_eq!(args.resource.as_deref(), Some("phone"));
        }
    }

    #[test]
    fn a_full_jid_with_a_different_resource_is_a_usage_error() {
        let message = bad(&["--jid", "alice@example.com/phone", "--resource", "desk"]);
        assert!(message.contains("\"phone\""), "{message}");
        assert!(message.contains("\"desk\""), "{message}");
        // Resources are case-sensitive.
        bad(&["--jid", "alice@example.com/phone", "--resource", "Phone"]);
    }

    #[test]
    fn bad_jids_and_empty_values_are_usage_errors() {
        assert!(bad(&["--jid", "alice@example.com/"]).contains("not a JID"));
        assert!(bad(&["--jid", "a@b@example.com"]).contains("not a JID"));
        assert!(bad(&["--resource", "x"]).contains("--jid is required"));
        let message = bad(&["--jid", "alice@example.com", "--ca-file", ""]);
        assert!(message.contains("--ca-file is empty"), "{message}");
        assert!(bad(&["--jid", "alice@example.com", "--resource="]).contains("empty"));
    }

    #[test]
    fn the_password_comes_from_the_environment_only() {
        assert!(bad(&["--jid", "alice@example.com", "--password", "x"]).contains("XMPP_PASSWORD"));
        let missing = parse(["--jid".to_string(), "alice@example.com".to_string()], None);
        assert!(matches!(missing, Err(ArgsError::Bad(m)) if m.contains("XMPP_PASSWORD")));
    }
}
