//! Signer key validity windows and revocation, as pure rules: which key of a signer id
//! may have made a signature at a given time, and whether a key may sign now.
//! Reading `keys.json` stays with the ledger's key loader; it builds [`KeyEntry`]s with
//! [`KeyWindow::parse`].
//!
//! The rules (keys.json entries with optional `notBefore`, `notAfter`, `revoked`):
//! - A key is valid at `ts` when `notBefore <= ts <= notAfter` — both ends inclusive,
//!   as in X.509 — and it is not revoked at or before `ts` (`ts < revoked`).
//!   A rotation that sets the old key's `notAfter` and the new key's `notBefore` to the
//!   same instant leaves no gap: at that instant both are valid.
//! - A signature verifies if some key of the signer's id, valid at the entry's
//!   timestamp, verifies it ([`check_signature`]).
//! - Signing is refused with a key outside its window now, and with any key that has a
//!   `revoked` time, even one in the future: `notAfter` is how a retirement is
//!   scheduled; `revoked` means the key must not sign again ([`KeyWindow::signing_state`]).
//!
//! What this cannot stop: the holder of a key can write any `timestamp` into what it
//! signs, so a stolen key can back-date entries to before its revocation. The offset
//! binding, the chain and the checkpoints a witness remembered are what expose those.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use ed25519_dalek::VerifyingKey;

/// The validity window of one keys.json entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeyWindow {
    pub not_before: Option<DateTime<Utc>>,
    pub not_after: Option<DateTime<Utc>>,
    pub revoked: Option<DateTime<Utc>>,
}

/// A keys.json date that does not parse, or a window that is empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error("{field}: {value:?} is not an RFC 3339 time")]
    BadTime { field: &'static str, value: String },
    #[error("notAfter ({not_after}) is before notBefore ({not_before}): the key is never valid")]
    Empty {
        not_before: String,
        not_after: String,
    },
}

/// Where a key stands at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    Active,
    NotYetValid { from: DateTime<Utc> },
    Expired { at: DateTime<Utc> },
    Revoked { at: DateTime<Utc> },
}

impl std::fmt::Display for KeyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyState::Active => write!(f, "active"),
            KeyState::NotYetValid { from } => write!(f, "not valid before {}", rfc3339(from)),
            KeyState::Expired { at } => write!(f, "expired {}", rfc3339(at)),
            KeyState::Revoked { at } => write!(f, "revoked {}", rfc3339(at)),
        }
    }
}

fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

impl KeyWindow {
    /// Build a window from the keys.json strings. An error names the field; the loader
    /// adds file and line.
    pub fn parse(
        not_before: Option<&str>,
        not_after: Option<&str>,
        revoked: Option<&str>,
    ) -> Result<KeyWindow, WindowError> {
        let time = |field: &'static str, v: Option<&str>| -> Result<_, WindowError> {
            v.map(|s| {
                DateTime::parse_from_rfc3339(s)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| WindowError::BadTime {
                        field,
                        value: crate::domain::sanitize::sanitize(s)
                            .chars()
                            .take(64)
                            .collect(),
                    })
            })
            .transpose()
        };
        let w = KeyWindow {
            not_before: time("notBefore", not_before)?,
            not_after: time("notAfter", not_after)?,
            revoked: time("revoked", revoked)?,
        };
        if let (Some(nb), Some(na)) = (w.not_before, w.not_after)
            && na < nb
        {
            return Err(WindowError::Empty {
                not_before: rfc3339(&nb),
                not_after: rfc3339(&na),
            });
        }
        Ok(w)
    }

    /// The key's state at `ts`. A revocation at or before `ts` wins over the window.
    pub fn state_at<Tz: TimeZone>(&self, ts: &DateTime<Tz>) -> KeyState {
        let ts = ts.with_timezone(&Utc);
        match (self.revoked, self.not_before, self.not_after) {
            (Some(at), _, _) if at <= ts => KeyState::Revoked { at },
            (_, Some(from), _) if ts < from => KeyState::NotYetValid { from },
            (_, _, Some(at)) if ts > at => KeyState::Expired { at },
            _ => KeyState::Active,
        }
    }

    /// Valid at `ts`: inside `[notBefore, notAfter]` and not revoked at or before `ts`.
    pub fn valid_at<Tz: TimeZone>(&self, ts: &DateTime<Tz>) -> bool {
        self.state_at(ts) == KeyState::Active
    }

    /// May this key sign at `now`? `Active`, or the state that refuses it. Any
    /// `revoked` time refuses, even one still in the future.
    pub fn signing_state<Tz: TimeZone>(&self, now: &DateTime<Tz>) -> KeyState {
        match self.revoked {
            Some(at) => KeyState::Revoked { at },
            None => self.state_at(now),
        }
    }

    /// Shorthand for `signing_state(now) == Active`.
    pub fn usable_for_signing<Tz: TimeZone>(&self, now: &DateTime<Tz>) -> bool {
        self.signing_state(now) == KeyState::Active
    }
}

/// One keys.json entry: a signer id may appear several times, once per key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyEntry {
    pub id: String,
    pub role: String,
    pub key: VerifyingKey,
    pub window: KeyWindow,
}

/// The outcome of checking one signature against the keyring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigCheck<'a> {
    /// A key of the id, valid at the timestamp, verifies the signature.
    Good(&'a KeyEntry),
    /// Only a key of the id that was not valid at the timestamp verifies it: signed
    /// before the key's window, after its expiry, or after its revocation.
    OutsideWindow {
        entry: &'a KeyEntry,
        state: KeyState,
    },
    /// The id has keys, and none verifies the signature.
    BadSignature,
    /// No key has this id.
    UnknownSigner,
}

/// Check a signature by signer `id` on an entry stamped `ts`. `verify` says whether one
/// public key verifies the signature (a ledger line, a note body…).
pub fn check_signature<'a, Tz: TimeZone>(
    ring: &'a [KeyEntry],
    id: &str,
    ts: &DateTime<Tz>,
    verify: impl Fn(&VerifyingKey) -> bool,
) -> SigCheck<'a> {
    let mut outside = None;
    let mut known = false;
    for e in ring.iter().filter(|e| e.id == id) {
        known = true;
        let state = e.window.state_at(ts);
        if state == KeyState::Active {
            if verify(&e.key) {
                return SigCheck::Good(e);
            }
        } else if outside.is_none() && verify(&e.key) {
            outside = Some(SigCheck::OutsideWindow { entry: e, state });
        }
    }
    match (outside, known) {
        (Some(o), _) => o,
        (None, true) => SigCheck::BadSignature,
        (None, false) => SigCheck::UnknownSigner,
    }
}

/// Why a key may not sign now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignRefusal {
    #[error("this key's public key is not in keys.json")]
    NotInKeyring,
    #[error("key of signer {id} is {state}; it may not sign")]
    NotUsable { id: String, state: KeyState },
}

/// The keys.json entry to sign with: the first entry for public key `key` that may sign
/// at `now`; else why not (the first matching entry's state).
pub fn signing_entry<'a, Tz: TimeZone>(
    ring: &'a [KeyEntry],
    key: &VerifyingKey,
    now: &DateTime<Tz>,
) -> Result<&'a KeyEntry, SignRefusal> {
    let mut refusal = None;
    for e in ring.iter().filter(|e| &e.key == key) {
        match e.window.signing_state(now) {
            KeyState::Active => return Ok(e),
            state => {
                refusal.get_or_insert(SignRefusal::NotUsable {
                    id: crate::domain::sanitize::sanitize(&e.id).into_owned(),
                    state,
                });
            }
        }
    }
    Err(refusal.unwrap_or(SignRefusal::NotInKeyring))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey, Verifier};

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn window(nb: Option<&str>, na: Option<&str>, rv: Option<&str>) -> KeyWindow {
        KeyWindow::parse(nb, na, rv).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn open_window_is_always_valid() {
        let w = KeyWindow::default();
        assert!(w.valid_at(&t("1970-01-01T00:00:00Z")));
        assert!(w.valid_at(&t("9999-12-31T23:59:59Z")));
        assert!(w.usable_for_signing(&t("2026-12-07T00:00:00Z")));
    }

    #[test]
    fn edges_are_inclusive_at_both_ends() {
        let w = window(
            Some("2026-01-01T00:00:00Z"),
            Some("2026-06-30T23:59:59Z"),
            None,
        );
        assert!(!w.valid_at(&t("2025-12-31T23:59:59.999Z")));
        assert!(w.valid_at(&t("2026-01-01T00:00:00Z")), "exactly notBefore");
        assert!(w.valid_at(&t("2026-06-30T23:59:59Z")), "exactly notAfter");
        assert!(!w.valid_at(&t("2026-06-30T23:59:59.001Z")));
        assert_eq!(
            w.state_at(&t("2025-01-01T00:00:00Z")),
            KeyState::NotYetValid {
                from: t("2026-01-01T00:00:00Z")
            }
        );
        assert_eq!(
            w.state_at(&t("2027-01-01T00:00:00Z")),
            KeyState::Expired {
                at: t("2026-06-30T23:59:59Z")
            }
        );
    }

    #[test]
    fn offsets_compare_as_instants() {
        let w = window(Some("2026-01-01T00:00:00Z"), None, None);
        let before = DateTime::parse_from_rfc3339("2026-01-01T00:59:59+01:00").unwrap_or_default();
        let at = DateTime::parse_from_rfc3339("2026-01-01T01:00:00+01:00").unwrap_or_default();
        assert!(!w.valid_at(&before));
        assert!(w.valid_at(&at));
    }

    #[test]
    fn revoked_at_or_before_ts_is_invalid() {
        let w = window(None, None, Some("2026-03-01T12:00:00Z"));
        assert!(
            w.valid_at(&t("2026-03-01T11:59:59Z")),
            "before the revocation"
        );
        assert!(
            !w.valid_at(&t("2026-03-01T12:00:00Z")),
            "exactly at the revocation"
        );
        assert!(!w.valid_at(&t("2026-03-02T00:00:00Z")));
        assert_eq!(
            w.state_at(&t("2026-03-01T12:00:00Z")),
            KeyState::Revoked {
                at: t("2026-03-01T12:00:00Z")
            }
        );
        // Revocation wins over an expired or not-yet-valid window.
        let w = window(
            Some("2026-01-01T00:00:00Z"),
            Some("2026-02-01T00:00:00Z"),
            Some("2025-06-01T00:00:00Z"),
        );
        assert!(matches!(
            w.state_at(&t("2027-01-01T00:00:00Z")),
            KeyState::Revoked { .. }
        ));
    }

    #[test]
    fn signing_refuses_expired_future_and_any_revoked_key() {
        let now = t("2026-12-07T10:00:00Z");
        let expired = window(None, Some("2026-12-07T09:59:59Z"), None);
        assert!(matches!(
            expired.signing_state(&now),
            KeyState::Expired { .. }
        ));
        let future = window(Some("2026-12-07T10:00:01Z"), None, None);
        assert!(matches!(
            future.signing_state(&now),
            KeyState::NotYetValid { .. }
        ));
        let revoked_later = window(None, None, Some("2027-01-01T00:00:00Z"));
        assert!(revoked_later.valid_at(&now), "old signatures verify");
        assert!(
            !revoked_later.usable_for_signing(&now),
            "but it signs nothing new"
        );
        let edge = window(
            Some("2026-12-07T10:00:00Z"),
            Some("2026-12-07T10:00:00Z"),
            None,
        );
        assert!(
            edge.usable_for_signing(&now),
            "a one-instant window includes the instant"
        );
    }

    #[test]
    fn bad_dates_and_empty_windows_are_errors() {
        assert_eq!(
            KeyWindow::parse(Some("2026-13-01T00:00:00Z"), None, None),
            Err(WindowError::BadTime {
                field: "notBefore",
                value: "2026-13-01T00:00:00Z".into()
            })
        );
        assert!(matches!(
            KeyWindow::parse(None, Some("yesterday"), None),
            Err(WindowError::BadTime {
                field: "notAfter",
                ..
            })
        ));
        assert!(matches!(
            KeyWindow::parse(None, None, Some("2026-01-01")),
            Err(WindowError::BadTime {
                field: "revoked",
                ..
            })
        ));
        let e = KeyWindow::parse(
            Some("2026-02-01T00:00:00Z"),
            Some("2026-01-01T00:00:00Z"),
            None,
        );
        assert!(matches!(e, Err(WindowError::Empty { .. })));
        let e = KeyWindow::parse(Some("\u{1b}[2J"), None, None)
            .err()
            .map(|e| e.to_string());
        assert!(!e.unwrap_or_default().contains('\u{1b}'));
    }

    fn entry(id: &str, seed: u8, w: KeyWindow) -> (KeyEntry, SigningKey) {
        let sk = SigningKey::from_bytes(&[seed; 32]);
        (
            KeyEntry {
                id: id.into(),
                role: "operator".into(),
                key: sk.verifying_key(),
                window: w,
            },
            sk,
        )
    }

    #[test]
    fn rotation_keeps_old_signatures_and_accepts_new_ones() {
        let cut = "2026-07-01T00:00:00Z";
        let (old, old_sk) = entry("hq-ops", 1, window(None, Some(cut), None));
        let (new, new_sk) = entry("hq-ops", 2, window(Some(cut), None, None));
        let ring = vec![old, new];
        let msg = b"line";
        let by = |sk: &SigningKey| {
            let sig = sk.sign(msg);
            move |k: &VerifyingKey| k.verify(msg, &sig).is_ok()
        };
        // Old key, before the cut: good. New key, after: good. At the cut: both.
        assert!(
            matches!(check_signature(&ring, "hq-ops", &t("2026-03-01T00:00:00Z"), by(&old_sk)), SigCheck::Good(e) if e.key == old_sk.verifying_key())
        );
        assert!(matches!(
            check_signature(&ring, "hq-ops", &t("2026-09-01T00:00:00Z"), by(&new_sk)),
            SigCheck::Good(_)
        ));
        assert!(matches!(
            check_signature(&ring, "hq-ops", &t(cut), by(&old_sk)),
            SigCheck::Good(_)
        ));
        assert!(matches!(
            check_signature(&ring, "hq-ops", &t(cut), by(&new_sk)),
            SigCheck::Good(_)
        ));
        // Old key after its notAfter: outside its window, named as such.
        assert!(matches!(
            check_signature(&ring, "hq-ops", &t("2026-09-01T00:00:00Z"), by(&old_sk)),
            SigCheck::OutsideWindow {
                state: KeyState::Expired { .. },
                ..
            }
        ));
        // New key before its notBefore.
        assert!(matches!(
            check_signature(&ring, "hq-ops", &t("2026-03-01T00:00:00Z"), by(&new_sk)),
            SigCheck::OutsideWindow {
                state: KeyState::NotYetValid { .. },
                ..
            }
        ));
        // A stranger's signature, or an unknown id.
        let stranger = SigningKey::from_bytes(&[3; 32]);
        assert_eq!(
            check_signature(&ring, "hq-ops", &t(cut), by(&stranger)),
            SigCheck::BadSignature
        );
        assert_eq!(
            check_signature(&ring, "nobody", &t(cut), by(&old_sk)),
            SigCheck::UnknownSigner
        );
    }

    #[test]
    fn revocation_splits_history() {
        let (e, sk) = entry("ci", 4, window(None, None, Some("2026-05-05T05:05:05Z")));
        let ring = vec![e];
        let sig = sk.sign(b"m");
        let v = |k: &VerifyingKey| k.verify(b"m", &sig).is_ok();
        assert!(matches!(
            check_signature(&ring, "ci", &t("2026-05-05T05:05:04Z"), v),
            SigCheck::Good(_)
        ));
        assert!(matches!(
            check_signature(&ring, "ci", &t("2026-05-05T05:05:05Z"), v),
            SigCheck::OutsideWindow {
                state: KeyState::Revoked { .. },
                ..
            }
        ));
        assert!(matches!(
            signing_entry(&ring, &sk.verifying_key(), &t("2026-01-01T00:00:00Z")),
            Err(SignRefusal::NotUsable {
                state: KeyState::Revoked { .. },
                ..
            })
        ));
    }

    #[test]
    fn signing_entry_picks_a_usable_entry() {
        let now = t("2026-12-07T00:00:00Z");
        let (expired, sk) = entry("a", 5, window(None, Some("2026-01-01T00:00:00Z"), None));
        let (mut renewed, _) = entry("a", 5, window(Some("2026-01-01T00:00:00Z"), None, None));
        renewed.role = "admin".into();
        let ring = vec![expired.clone(), renewed];
        assert_eq!(
            signing_entry(&ring, &sk.verifying_key(), &now).map(|e| e.role.as_str()),
            Ok("admin")
        );
        let only_expired = vec![expired];
        let err = signing_entry(&only_expired, &sk.verifying_key(), &now);
        assert_eq!(
            err.as_ref().map_err(ToString::to_string).err().as_deref(),
            Some("key of signer a is expired 2026-01-01T00:00:00Z; it may not sign")
        );
        let other = SigningKey::from_bytes(&[6; 32]).verifying_key();
        assert_eq!(
            signing_entry(&ring, &other, &now),
            Err(SignRefusal::NotInKeyring)
        );
    }
}
