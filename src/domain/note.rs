//! C2SP signed notes (c2sp.org/signed-note) and transparency-log checkpoints
//! (c2sp.org/tlog-checkpoint) with Ed25519: the body format, signing, strict parsing,
//! verification against known keys, and the verifier key string that Go's
//! `golang.org/x/mod/sumdb/note.NewVerifier` reads.
//!
//! A checkpoint note:
//! ```text
//! <origin>\n<tree size>\n<base64 root hash>\n[extension lines\n]
//! \n
//! — <key name> <base64(4-byte key hash ‖ 64-byte Ed25519 signature over the body)>\n
//! ```
//! key hash = SHA-256(`<key name>` ‖ `\n` ‖ 0x01 ‖ 32-byte public key)[:4], big-endian.
//!
//! Written by hand rather than with the `signed_note` / `tlog_tiles` crates (0.2.0 on
//! crates.io, checked 2026-12): `signed_note` pulls ed25519-dalek 2 with
//! curve25519-dalek 4, rand_core 0.6, base64 0.21 and thiserror 1 — a second copy of
//! the crypto stack next to the ed25519-dalek 3 Lumen signs with — and `tlog_tiles`
//! 0.2.0 implements the Go sumdb tile layout (`tile/H/L/N`) rather than C2SP's
//! (`tile/L/N`). The format is a few dozen lines; it is checked against the published
//! vectors of Go's `note_test.go` (PeterNeumann / EnochRoot), Go's `tlog` checkpoint
//! body, and the C2SP example, and independently by a from-scratch Python verifier in
//! `tests/note_interop.rs`.
//!
//! Parsing is stricter than Go's where the format leaves room: base64 must be canonical
//! (padded, no stray trailing bits), every signature by a known key is verified (Go
//! skips repeats of one key), and a note is at most [`MAX_NOTE_BYTES`] bytes with at
//! most [`MAX_SIGNATURES`] signatures.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::domain::merkle::Hash;
use crate::domain::sanitize::sanitize;

/// Signature type byte of Ed25519 note signatures.
pub const ALG_ED25519: u8 = 0x01;
/// Largest note accepted, in bytes.
pub const MAX_NOTE_BYTES: usize = 1 << 20;
/// Most signature lines accepted in one note (the signed-note spec asks for ≥ 16).
pub const MAX_SIGNATURES: usize = 100;
/// What starts every signature line: an em dash (U+2014) and a space.
pub const SIG_PREFIX: &str = "\u{2014} ";

/// A note or checkpoint that does not follow the format; `line` and `col` are 1-based
/// positions in the note (col counts characters), so a caller can print
/// `file:line:col: what`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{col}: {kind}")]
pub struct NoteError {
    pub line: usize,
    pub col: usize,
    pub kind: NoteErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteErrorKind {
    #[error("note is {0} bytes, more than the {MAX_NOTE_BYTES} allowed")]
    TooLarge(usize),
    #[error("not valid UTF-8")]
    NotUtf8,
    #[error("control character U+{0:04X} (only newline is allowed)")]
    ControlChar(u32),
    #[error("the note does not end with a newline")]
    NoFinalNewline,
    #[error("no signatures: a note is its text, a blank line, then signature lines")]
    NoSignatures,
    #[error("a signature line starts with an em dash (U+2014) and a space")]
    SigPrefix,
    #[error("a signature line is \"\u{2014} <name> <base64>\"")]
    SigShape,
    #[error("key name {0:?}: it must be non-empty, without spaces or '+'")]
    BadName(String),
    #[error("signature is not standard padded base64")]
    SigBase64,
    #[error("signature is {0} bytes; a 4-byte key hash and a signature are needed")]
    SigTooShort(usize),
    #[error("more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    #[error("the text is empty or does not end with a newline")]
    BadText,
    #[error("a checkpoint has origin, tree size and root hash lines; found {0} line(s)")]
    TooFewLines(usize),
    #[error("empty line in a checkpoint body")]
    EmptyLine,
    #[error("a line of the body contains a newline")]
    NewlineInLine,
    #[error("tree size {0:?} is not a decimal number without leading zeros")]
    BadSize(String),
    #[error("root hash is not standard padded base64 of 32 bytes")]
    BadRoot,
}

impl NoteErrorKind {
    fn at(self, line: usize, col: usize) -> NoteError {
        NoteError {
            line,
            col,
            kind: self,
        }
    }
}

/// Why a note did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// A signature by a known key (name and key hash match) that does not verify: the
    /// note was altered or forged.
    #[error("line {line}: signature by {name} (key {key_hash:08x}) does not verify")]
    BadSignature {
        line: usize,
        name: String,
        key_hash: u32,
    },
    /// No signature is by a known key.
    #[error("no signature by a known key (signed by: {})", signer_list(.0))]
    NoKnownSignature(Vec<String>),
}

fn signer_list(names: &[String]) -> String {
    if names.is_empty() {
        "nobody".to_string()
    } else {
        names.join(", ")
    }
}

/// A verifier key string that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifierKeyError {
    #[error("a verifier key is <name>+<8 hex digits>+<base64(0x01 ‖ 32-byte key)>")]
    Shape,
    #[error("key hash does not match the name and key")]
    Hash,
    #[error("not an Ed25519 key")]
    Algorithm,
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub key_hash: u32,
    /// The signature bytes after the key hash (64 for Ed25519).
    pub sig: Vec<u8>,
    /// 1-based line of the note.
    pub line: usize,
}

/// A parsed note: its text (ending in `\n`, without the blank separator line) and its
/// signature lines, unverified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub body: String,
    pub signatures: Vec<NoteSignature>,
}

/// A tlog-checkpoint body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// Extension lines after the root hash, kept verbatim (without `\n`).
    pub extensions: Vec<String>,
}

/// A parsed checkpoint note: the body text exactly as signed, the checkpoint it
/// encodes, and the signature lines (unverified; see [`verify_note`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointNote {
    pub note: Note,
    pub checkpoint: Checkpoint,
}

/// A known signer: key name and Ed25519 public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    pub name: String,
    pub key: VerifyingKey,
    pub key_hash: u32,
}

/// A signature that verified: indexes into the note's signatures and the verifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub signature: usize,
    pub verifier: usize,
}

/// A key name: non-empty, no Unicode white space, no `+`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(char::is_whitespace) && !name.contains('+')
}

/// Key hash of an Ed25519 key under `name`:
/// SHA-256(name ‖ `\n` ‖ 0x01 ‖ public key)[:4] as a big-endian u32.
pub fn key_hash(name: &str, key: &VerifyingKey) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALG_ED25519]);
    h.update(key.as_bytes());
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

impl NoteVerifier {
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, NoteError> {
        if !valid_name(name) {
            return Err(NoteErrorKind::BadName(excerpt(name)).at(1, 1));
        }
        Ok(NoteVerifier {
            name: name.to_string(),
            key_hash: key_hash(name, &key),
            key,
        })
    }

    /// The verifier key string `<name>+<hex key hash>+<base64(0x01 ‖ public key)>`,
    /// as Go's `note.NewVerifier` takes it.
    pub fn verifier_key(&self) -> String {
        let mut k = Vec::with_capacity(33);
        k.push(ALG_ED25519);
        k.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.key_hash, STANDARD.encode(k))
    }

    /// Read a verifier key string (the inverse of [`NoteVerifier::verifier_key`]).
    pub fn from_verifier_key(s: &str) -> Result<Self, VerifierKeyError> {
        let mut parts = s.splitn(3, '+');
        let (Some(name), Some(hash), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(VerifierKeyError::Shape);
        };
        // Lowercase hex only, as `verifier_key` writes it: one key, one spelling.
        let lower_hex = |b: u8| matches!(b, b'0'..=b'9' | b'a'..=b'f');
        if !valid_name(name) || hash.len() != 8 || !hash.bytes().all(lower_hex) {
            return Err(VerifierKeyError::Shape);
        }
        let hash = u32::from_str_radix(hash, 16).map_err(|_| VerifierKeyError::Shape)?;
        let bytes = STANDARD.decode(key).map_err(|_| VerifierKeyError::Shape)?;
        let Some((&alg, pk)) = bytes.split_first() else {
            return Err(VerifierKeyError::Shape);
        };
        // The hash covers the algorithm byte, so check it before the algorithm.
        let mut h = Sha256::new();
        h.update(name.as_bytes());
        h.update(b"\n");
        h.update(&bytes);
        let d = h.finalize();
        if u32::from_be_bytes([d[0], d[1], d[2], d[3]]) != hash {
            return Err(VerifierKeyError::Hash);
        }
        if alg != ALG_ED25519 {
            return Err(VerifierKeyError::Algorithm);
        }
        let pk: [u8; 32] = pk.try_into().map_err(|_| VerifierKeyError::Shape)?;
        let key = VerifyingKey::from_bytes(&pk).map_err(|_| VerifierKeyError::Shape)?;
        Ok(NoteVerifier {
            name: name.to_string(),
            key,
            key_hash: hash,
        })
    }
}

impl Checkpoint {
    /// The checkpoint body: origin, size, base64 root, extension lines, each ending in
    /// `\n`. Refuses an origin or extension line that is empty or holds a newline or
    /// another control character.
    pub fn body(&self) -> Result<String, NoteError> {
        check_body_line(&self.origin, 1)?;
        for (i, ext) in self.extensions.iter().enumerate() {
            check_body_line(ext, i + 4)?;
        }
        let mut out = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        );
        for ext in &self.extensions {
            out.push_str(ext);
            out.push('\n');
        }
        Ok(out)
    }

    /// Parse a checkpoint body (the note text, ending in `\n`).
    pub fn parse(body: &str) -> Result<Checkpoint, NoteError> {
        check_text(body)?;
        let Some(inner) = body.strip_suffix('\n') else {
            let line = body.split('\n').count();
            return Err(NoteErrorKind::NoFinalNewline.at(line, 1));
        };
        let lines: Vec<&str> = inner.split('\n').collect();
        if let Some(i) = lines.iter().position(|l| l.is_empty()) {
            return Err(NoteErrorKind::EmptyLine.at(i + 1, 1));
        }
        let [origin, size, root, extensions @ ..] = lines.as_slice() else {
            return Err(NoteErrorKind::TooFewLines(lines.len()).at(lines.len(), 1));
        };
        let size =
            parse_size(size).ok_or_else(|| NoteErrorKind::BadSize(excerpt(size)).at(2, 1))?;
        let root: Hash = STANDARD
            .decode(root)
            .ok()
            .and_then(|v| v.as_slice().try_into().ok())
            .ok_or_else(|| NoteErrorKind::BadRoot.at(3, 1))?;
        Ok(Checkpoint {
            origin: (*origin).to_string(),
            size,
            root,
            extensions: extensions.iter().map(|s| (*s).to_string()).collect(),
        })
    }
}

impl Note {
    /// The note text: body, blank line, signature lines. For a parsed note this is the
    /// input byte for byte (parsing accepts only canonical base64).
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(self.body.len() + 1 + self.signatures.len() * 110);
        out.push_str(&self.body);
        out.push('\n');
        for s in &self.signatures {
            let mut raw = Vec::with_capacity(4 + s.sig.len());
            raw.extend_from_slice(&s.key_hash.to_be_bytes());
            raw.extend_from_slice(&s.sig);
            out.push_str(SIG_PREFIX);
            out.push_str(&s.name);
            out.push(' ');
            out.push_str(&STANDARD.encode(raw));
            out.push('\n');
        }
        out
    }
}

/// Parse a note's syntax (no signature is checked here: see [`verify_note`]).
pub fn parse_note(bytes: &[u8]) -> Result<Note, NoteError> {
    if bytes.len() > MAX_NOTE_BYTES {
        return Err(NoteErrorKind::TooLarge(bytes.len()).at(1, 1));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = bytes.get(..e.valid_up_to()).unwrap_or_default();
            // The valid prefix is UTF-8 by definition.
            let prefix = std::str::from_utf8(valid).unwrap_or_default();
            let (line, col) = position(prefix, prefix.len());
            return Err(NoteErrorKind::NotUtf8.at(line, col));
        }
    };
    check_text(text)?;
    if !text.ends_with('\n') {
        let (line, col) = position(text, text.len());
        return Err(NoteErrorKind::NoFinalNewline.at(line, col));
    }
    // The text ends at the last blank line; signature lines follow.
    let Some(split) = text.rfind("\n\n") else {
        let (line, _) = position(text, text.len());
        return Err(NoteErrorKind::NoSignatures.at(line, 1));
    };
    let body = text.get(..=split).unwrap_or_default();
    let sigs = text.get(split + 2..).unwrap_or_default();
    let first_sig_line = body.matches('\n').count() + 2;
    if sigs.is_empty() {
        return Err(NoteErrorKind::NoSignatures.at(first_sig_line, 1));
    }
    let mut signatures = Vec::new();
    for (i, line) in sigs.split_terminator('\n').enumerate() {
        let lno = first_sig_line + i;
        if i >= MAX_SIGNATURES {
            return Err(NoteErrorKind::TooManySignatures.at(lno, 1));
        }
        let Some(rest) = line.strip_prefix(SIG_PREFIX) else {
            return Err(NoteErrorKind::SigPrefix.at(lno, 1));
        };
        let Some((name, b64)) = rest.split_once(' ') else {
            return Err(NoteErrorKind::SigShape.at(lno, 3));
        };
        if !valid_name(name) {
            return Err(NoteErrorKind::BadName(excerpt(name)).at(lno, 3));
        }
        let col = 4 + name.chars().count();
        let raw = STANDARD
            .decode(b64)
            .map_err(|_| NoteErrorKind::SigBase64.at(lno, col))?;
        let [a, b, c, d, sig @ ..] = raw.as_slice() else {
            return Err(NoteErrorKind::SigTooShort(raw.len()).at(lno, col));
        };
        if sig.is_empty() {
            return Err(NoteErrorKind::SigTooShort(raw.len()).at(lno, col));
        }
        signatures.push(NoteSignature {
            name: name.to_string(),
            key_hash: u32::from_be_bytes([*a, *b, *c, *d]),
            sig: sig.to_vec(),
            line: lno,
        });
    }
    Ok(Note {
        body: body.to_string(),
        signatures,
    })
}

/// Parse a checkpoint note: note syntax, then the checkpoint body (errors in the body
/// carry their line in the note).
pub fn parse_checkpoint_note(bytes: &[u8]) -> Result<CheckpointNote, NoteError> {
    let note = parse_note(bytes)?;
    let checkpoint = Checkpoint::parse(&note.body)?;
    Ok(CheckpointNote { note, checkpoint })
}

/// Verify a note against known signers. Signatures by unknown keys (name or key hash
/// not among `verifiers`) are ignored; a signature by a known key must verify, else
/// the whole note is rejected; at least one must verify. Returns which verified.
pub fn verify_note(note: &Note, verifiers: &[NoteVerifier]) -> Result<Vec<Verified>, VerifyError> {
    let mut out = Vec::new();
    for (si, s) in note.signatures.iter().enumerate() {
        let mut known = false;
        let mut good = None;
        for (vi, v) in verifiers.iter().enumerate() {
            if v.name != s.name || v.key_hash != s.key_hash {
                continue;
            }
            known = true;
            let ok = Signature::from_slice(&s.sig)
                .is_ok_and(|sig| v.key.verify(note.body.as_bytes(), &sig).is_ok());
            if ok {
                good = Some(vi);
                break;
            }
        }
        match (known, good) {
            (_, Some(vi)) => out.push(Verified {
                signature: si,
                verifier: vi,
            }),
            (true, None) => {
                return Err(VerifyError::BadSignature {
                    line: s.line,
                    name: excerpt(&s.name),
                    key_hash: s.key_hash,
                });
            }
            (false, None) => {}
        }
    }
    if out.is_empty() {
        let mut names: Vec<String> = note.signatures.iter().map(|s| excerpt(&s.name)).collect();
        names.dedup();
        return Err(VerifyError::NoKnownSignature(names));
    }
    Ok(out)
}

/// One signature line `— <name> <base64(key hash ‖ signature)>\n` over `body`.
pub fn signature_line(body: &str, name: &str, key: &SigningKey) -> Result<String, NoteError> {
    if !valid_name(name) {
        return Err(NoteErrorKind::BadName(excerpt(name)).at(1, 1));
    }
    check_text(body)?;
    if body.is_empty() || !body.ends_with('\n') {
        return Err(NoteErrorKind::BadText.at(1, 1));
    }
    let sig = key.sign(body.as_bytes());
    let mut raw = Vec::with_capacity(68);
    raw.extend_from_slice(&key_hash(name, &key.verifying_key()).to_be_bytes());
    raw.extend_from_slice(&sig.to_bytes());
    Ok(format!("{SIG_PREFIX}{name} {}\n", STANDARD.encode(raw)))
}

/// A signed note: `body`, a blank line, one signature line per signer (in order).
pub fn sign_note(body: &str, signers: &[(&str, &SigningKey)]) -> Result<String, NoteError> {
    let mut out = String::with_capacity(body.len() + 1 + signers.len() * 110);
    out.push_str(body);
    out.push('\n');
    for (name, key) in signers {
        out.push_str(&signature_line(body, name, key)?);
    }
    // What we write must read back: e.g. a body ending in a blank line would not.
    let parsed = parse_note(out.as_bytes())?;
    if parsed.body != body || signers.is_empty() {
        return Err(NoteErrorKind::BadText.at(1, 1));
    }
    Ok(out)
}

/// The checkpoint note for `cp`, signed by `name` with `key`.
pub fn sign_checkpoint(cp: &Checkpoint, name: &str, key: &SigningKey) -> Result<String, NoteError> {
    sign_note(&cp.body()?, &[(name, key)])
}

/// Size line: ASCII decimal, no sign, no leading zeros (except `0` itself), fits u64.
fn parse_size(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// Note text rules shared by every entry point: no control character but `\n`.
fn check_text(text: &str) -> Result<(), NoteError> {
    if let Some((i, c)) = text.char_indices().find(|&(_, c)| c < ' ' && c != '\n') {
        let (line, col) = position(text, i);
        return Err(NoteErrorKind::ControlChar(c as u32).at(line, col));
    }
    Ok(())
}

fn check_body_line(s: &str, line: usize) -> Result<(), NoteError> {
    if s.is_empty() {
        return Err(NoteErrorKind::EmptyLine.at(line, 1));
    }
    if let Some(i) = s.find('\n') {
        let col = s.get(..i).map_or(1, |p| p.chars().count() + 1);
        return Err(NoteErrorKind::NewlineInLine.at(line, col));
    }
    if let Some((i, c)) = s.char_indices().find(|&(_, c)| c < ' ') {
        let col = s.get(..i).map_or(1, |p| p.chars().count() + 1);
        return Err(NoteErrorKind::ControlChar(c as u32).at(line, col));
    }
    Ok(())
}

/// 1-based (line, column in characters) of byte offset `at` in `text`.
fn position(text: &str, at: usize) -> (usize, usize) {
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |p| p + 1);
    let col = before.get(line_start..).map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Untrusted text for an error message: sanitized and cut to 64 characters.
fn excerpt(s: &str) -> String {
    let clean = sanitize(s);
    let mut out: String = clean.chars().take(64).collect();
    if clean.chars().count() > 64 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PETER_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                        then you don't know what your problem is.\n";
    const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

    /// Go's signer key format `PRIVATE+KEY+<name>+<hash>+<base64(0x01 ‖ seed)>`.
    fn peter_key() -> SigningKey {
        let b64 = PETER_SKEY.splitn(5, '+').nth(4).unwrap_or_default();
        let raw = STANDARD.decode(b64).unwrap_or_default();
        assert_eq!(raw.first(), Some(&ALG_ED25519));
        let seed: [u8; 32] = raw
            .get(1..)
            .and_then(|s| s.try_into().ok())
            .unwrap_or([0; 32]);
        SigningKey::from_bytes(&seed)
    }

    fn verifier(vkey: &str) -> NoteVerifier {
        NoteVerifier::from_verifier_key(vkey).unwrap_or_else(|e| panic!("{vkey}: {e}"))
    }

    fn ok<T, E: std::fmt::Display>(r: Result<T, E>) -> T {
        r.unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn go_sign_vector() {
        let key = peter_key();
        let msg = ok(sign_note(TEXT, &[("PeterNeumann", &key)]));
        assert_eq!(msg, format!("{TEXT}\n{PETER_SIG}"));
        let v = ok(NoteVerifier::new("PeterNeumann", key.verifying_key()));
        assert_eq!(v.verifier_key(), PETER_VKEY);
        assert_eq!(v.key_hash, 0xc74f20a3);
    }

    #[test]
    fn enoch_root_is_the_zero_seed_and_signs_like_go() {
        let key = SigningKey::from_bytes(&[0u8; 32]);
        let v = ok(NoteVerifier::new("EnochRoot", key.verifying_key()));
        assert_eq!(v.verifier_key(), ENOCH_VKEY);
        assert_eq!(ok(signature_line(TEXT, "EnochRoot", &key)), ENOCH_SIG);
    }

    #[test]
    fn go_open_vectors() {
        let peter = verifier(PETER_VKEY);
        let enoch = verifier(ENOCH_VKEY);
        let both = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
        let note = ok(parse_note(both.as_bytes()));
        assert_eq!(note.body, TEXT);
        assert_eq!(note.signatures.len(), 2);
        assert_eq!(note.signatures[0].key_hash, 0xc74f20a3);
        assert_eq!(note.signatures[1].key_hash, 0xaf0cfe78);
        assert_eq!(note.signatures[1].line, 5);
        // One known, one unknown (ignored).
        let got = ok(verify_note(&note, std::slice::from_ref(&peter)));
        assert_eq!(
            got,
            vec![Verified {
                signature: 0,
                verifier: 0
            }]
        );
        // Both known.
        let got = ok(verify_note(&note, &[peter.clone(), enoch.clone()]));
        assert_eq!(got.len(), 2);
        // None known.
        assert_eq!(
            verify_note(&note, &[]),
            Err(VerifyError::NoKnownSignature(vec![
                "PeterNeumann".into(),
                "EnochRoot".into()
            ]))
        );
        // Too many signatures.
        let many = format!("{TEXT}\n{}", PETER_SIG.repeat(101));
        assert_eq!(
            parse_note(many.as_bytes()).map_err(|e| e.kind),
            Err(NoteErrorKind::TooManySignatures)
        );
        assert!(parse_note(format!("{TEXT}\n{}", PETER_SIG.repeat(100)).as_bytes()).is_ok());
        // An altered signature by a known key rejects the whole note.
        let (a, b) = PETER_SIG.split_at(60);
        let bad = format!("{TEXT}\n{a}ABCD{b}");
        let note = ok(parse_note(bad.as_bytes()));
        assert!(matches!(
            verify_note(&note, std::slice::from_ref(&peter)),
            Err(VerifyError::BadSignature {
                line: 4,
                key_hash: 0xc74f20a3,
                ..
            })
        ));
        // A renamed signature is unknown, so nothing verifies.
        let renamed = format!(
            "{TEXT}\n{}",
            PETER_SIG.replace("PeterNeumann", "CarmenSandiego")
        );
        let note = ok(parse_note(renamed.as_bytes()));
        assert!(matches!(
            verify_note(&note, std::slice::from_ref(&peter)),
            Err(VerifyError::NoKnownSignature(_))
        ));
        // A wrong key hash is unknown too.
        let rehashed = format!("{TEXT}\n{}", PETER_SIG.replace("x08g", "xxxx"));
        let note = ok(parse_note(rehashed.as_bytes()));
        assert!(verify_note(&note, &[peter]).is_err());
    }

    /// The example in the ledger formats documentation: the three example ledger lines,
    /// checkpointed by `hq-ops` with the key whose seed is bytes 0..=31.
    #[test]
    fn documented_example() {
        use crate::domain::merkle::{leaf_hash, root_of};
        let lines = [
            r#"{"id":"TXN-20260118-001","branch":"papafly","event":"deploy_test","actor":"hq","timestamp":"2026-01-18T01:02:03Z"}"#,
            r#"{"id":"TXN-20260118-002","branch":"koosy","event":"llm_generate","tokens":1840,"cost":0.033,"actor":"llm","timestamp":"2026-01-18T01:04:10Z"}"#,
            r#"{"id":"TXN-20260118-003","branch":"koosy","event":"deploy_failed","actor":"ci","timestamp":"2026-01-18T01:05:44Z"}"#,
        ];
        let leaves: Vec<Hash> = lines.iter().map(|l| leaf_hash(l.as_bytes())).collect();
        let seed: [u8; 32] = std::array::from_fn(|i| i as u8);
        let key = SigningKey::from_bytes(&seed);
        let cp = Checkpoint {
            origin: "lumen.local/hq".into(),
            size: 3,
            root: root_of(&leaves),
            extensions: vec![],
        };
        let want = "lumen.local/hq\n3\nqcGnOELTZpgERN4zhX3+TYDhUXTemZJQS4xDJaICaK0=\n\n\u{2014} hq-ops 4GzHigQvJDb/9I8UjAy/uxNWjGWknN/XYTS+HssUMDWqTz4AAAwFmeQ7dSvxBBtDWfQNOx4igY3GHqFWgNp4fpU2XQc=\n";
        assert_eq!(ok(sign_checkpoint(&cp, "hq-ops", &key)), want);
        let v = ok(NoteVerifier::new("hq-ops", key.verifying_key()));
        assert_eq!(
            v.verifier_key(),
            "hq-ops+e06cc78a+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"
        );
        assert_eq!(
            crate::domain::signing::public_key_b64(&key.verifying_key()),
            "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="
        );
        let proof = crate::domain::merkle::consistency_proof(&leaves, 2);
        assert_eq!(
            proof.iter().map(hex::encode).collect::<Vec<_>>(),
            ["00460d881d89439a6ba5ea05f39752c46599686030aa546d811f7712c23ecab0"]
        );
        assert_eq!(
            hex::encode(root_of(&leaves[..2])),
            "0cbd0c3189b7267a2b3fbbceab925eb6335d40643453b69589e4949943b21678"
        );
    }

    #[test]
    fn parsed_notes_render_back_byte_for_byte() {
        let text = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
        assert_eq!(ok(parse_note(text.as_bytes())).to_text(), text);
    }

    #[test]
    fn go_malformed_notes() {
        let bad = [
            TEXT.to_string(),
            format!("{TEXT}\n"),
            format!("{TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]),
            format!("\u{1}{TEXT}\n{PETER_SIG}"),
            format!(
                "{TEXT}\n\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
            ),
            format!("{TEXT}\n{PETER_SIG}Unexpected line.\n"),
        ];
        for msg in &bad {
            assert!(parse_note(msg.as_bytes()).is_err(), "{msg:?}");
        }
        let mut bytes = format!("{TEXT}\n{PETER_SIG}").into_bytes();
        bytes.insert(0, 0xff);
        assert_eq!(
            parse_note(&bytes).map_err(|e| e.kind),
            Err(NoteErrorKind::NotUtf8)
        );
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = parse_note(format!("ab\ncd\u{7}\n\n{PETER_SIG}").as_bytes());
        assert_eq!(
            e.map_err(|e| e.to_string()),
            Err("2:3: control character U+0007 (only newline is allowed)".into())
        );
        let e = parse_note(format!("{TEXT}\n{PETER_SIG}- x y\n").as_bytes());
        assert_eq!(
            e.map_err(|e| (e.line, e.col, e.kind)),
            Err((5, 1, NoteErrorKind::SigPrefix))
        );
        let e = parse_note(format!("{TEXT}\n\u{2014} a+b AAAA\n").as_bytes());
        assert_eq!(
            e.map_err(|e| (e.line, e.col, e.kind)),
            Err((4, 3, NoteErrorKind::BadName("a+b".into())))
        );
        let e = parse_note(format!("{TEXT}\n\u{2014} ab AAAA\n").as_bytes());
        assert_eq!(
            e.map_err(|e| (e.line, e.col, e.kind)),
            Err((4, 6, NoteErrorKind::SigTooShort(3)))
        );
        let e = parse_note(format!("{TEXT}\n\u{2014} ab AAAAAQ\n").as_bytes());
        assert_eq!(
            e.map_err(|e| e.kind),
            Err(NoteErrorKind::SigBase64),
            "unpadded"
        );
        let e = parse_note(b"x\n\n");
        assert_eq!(
            e.map_err(|e| (e.line, e.kind)),
            Err((3, NoteErrorKind::NoSignatures))
        );
        let big = vec![b'a'; MAX_NOTE_BYTES + 1];
        assert_eq!(
            parse_note(&big).map_err(|e| e.kind),
            Err(NoteErrorKind::TooLarge(MAX_NOTE_BYTES + 1))
        );
    }

    #[test]
    fn non_canonical_base64_is_refused() {
        // Same bytes, but the last character's unused low bits set.
        let sig = PETER_SIG.trim_end().rsplit(' ').next().unwrap_or_default();
        let last = sig.as_bytes()[sig.len() - 2];
        let alt = (last + 1) as char; // 'M' -> 'N': only the stray bits differ
        let tweaked = format!("{}{}=", &sig[..sig.len() - 2], alt);
        let msg = format!("{TEXT}\n\u{2014} PeterNeumann {tweaked}\n");
        assert_eq!(
            parse_note(msg.as_bytes()).map_err(|e| e.kind),
            Err(NoteErrorKind::SigBase64)
        );
    }

    #[test]
    fn verifier_key_manglings_are_refused() {
        // Go's TestNewVerifier: every proper substring and every one-byte change fails.
        assert!(NoteVerifier::from_verifier_key(PETER_VKEY).is_ok());
        let b = PETER_VKEY.as_bytes();
        for i in 0..=b.len() {
            for j in i + 1..=b.len() {
                if i == 0 && j == b.len() {
                    continue;
                }
                let s = String::from_utf8_lossy(&b[i..j]);
                assert!(NoteVerifier::from_verifier_key(&s).is_err(), "{s}");
            }
        }
        for i in 0..b.len() {
            let mut m = b.to_vec();
            m[i] = m[i].wrapping_add(1);
            let s = String::from_utf8_lossy(&m);
            assert!(NoteVerifier::from_verifier_key(&s).is_err(), "{s}");
        }
        assert_eq!(
            NoteVerifier::from_verifier_key(
                "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
            ),
            Err(VerifierKeyError::Shape)
        );
        assert_eq!(
            NoteVerifier::from_verifier_key(
                "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
            ),
            Err(VerifierKeyError::Algorithm)
        );
        // Uppercase hex names the same key hash but is not the key's spelling: a key
        // string must read back to itself (found by the stable fuzzer).
        let hash_at = PETER_VKEY.find('+').map_or(0, |p| p + 1);
        let upper: String = PETER_VKEY
            .char_indices()
            .map(|(i, c)| {
                if (hash_at..hash_at + 8).contains(&i) {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect();
        assert_ne!(upper, PETER_VKEY, "the test key's hash has a hex letter");
        assert_eq!(
            NoteVerifier::from_verifier_key(&upper),
            Err(VerifierKeyError::Shape)
        );
    }

    /// golang.org/x/mod/sumdb/tlog `TestFormatTree`: the same three-line body.
    #[test]
    fn go_tlog_tree_body() {
        let cp = Checkpoint {
            origin: "go.sum database tree".into(),
            size: 123456789012,
            root: crate::domain::merkle::leaf_hash(b"hello world"),
            extensions: vec![],
        };
        let body = ok(cp.body());
        assert_eq!(
            body,
            "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n"
        );
        assert_eq!(ok(Checkpoint::parse(&body)), cp);
        for bad in [
            "go.sum database tree\n0xabcdef\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
            "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBTOOBIG=\n",
        ] {
            assert!(Checkpoint::parse(bad).is_err(), "{bad}");
        }
    }

    /// The example of c2sp.org/tlog-checkpoint.
    #[test]
    fn c2sp_checkpoint_example_parses() {
        let text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";
        let cn = ok(parse_checkpoint_note(text.as_bytes()));
        assert_eq!(cn.checkpoint.origin, "example.com/behind-the-sofa");
        assert_eq!(cn.checkpoint.size, 20852163);
        assert_eq!(
            STANDARD.encode(cn.checkpoint.root),
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
        );
        assert_eq!(cn.note.signatures.len(), 1);
        assert_eq!(cn.note.signatures[0].key_hash, 0x033de0ae);
        assert_eq!(cn.note.signatures[0].sig.len(), 64);
    }

    #[test]
    fn checkpoint_round_trip_with_extensions() {
        let key = SigningKey::from_bytes(&[9u8; 32]);
        let cp = Checkpoint {
            origin: "lumen.local/hq".into(),
            size: 42,
            root: [7u8; 32],
            extensions: vec![
                "ext one".into(),
                "— looks like a sig but is a body line".into(),
            ],
        };
        let text = ok(sign_checkpoint(&cp, "hq-ops", &key));
        assert!(text.starts_with("lumen.local/hq\n42\nBwcH"));
        let parsed = ok(parse_checkpoint_note(text.as_bytes()));
        assert_eq!(parsed.checkpoint, cp);
        assert_eq!(parsed.note.body, ok(cp.body()));
        let v = ok(NoteVerifier::new("hq-ops", key.verifying_key()));
        assert!(verify_note(&parsed.note, std::slice::from_ref(&v)).is_ok());
        // Any change to the body breaks the signature.
        let tampered = text.replacen("\n42\n", "\n43\n", 1);
        let note = ok(parse_note(tampered.as_bytes()));
        assert!(matches!(
            verify_note(&note, &[v]),
            Err(VerifyError::BadSignature { .. })
        ));
    }

    #[test]
    fn checkpoint_body_rules() {
        let root = STANDARD.encode([1u8; 32]);
        let good = format!("o\n5\n{root}\n");
        assert!(Checkpoint::parse(&good).is_ok());
        let cases = [
            (format!("o\n5\n{root}"), NoteErrorKind::NoFinalNewline),
            (format!("o\n\n5\n{root}\n"), NoteErrorKind::EmptyLine),
            (format!("o\n5\n{root}\n\next\n"), NoteErrorKind::EmptyLine),
            ("o\n5\n".to_string(), NoteErrorKind::TooFewLines(2)),
            (
                format!("o\n05\n{root}\n"),
                NoteErrorKind::BadSize("05".into()),
            ),
            (
                format!("o\n+5\n{root}\n"),
                NoteErrorKind::BadSize("+5".into()),
            ),
            (
                format!("o\n-1\n{root}\n"),
                NoteErrorKind::BadSize("-1".into()),
            ),
            (
                format!("o\n 5\n{root}\n"),
                NoteErrorKind::BadSize(" 5".into()),
            ),
            (
                format!("o\n18446744073709551616\n{root}\n"),
                NoteErrorKind::BadSize("18446744073709551616".into()),
            ),
            (
                format!("o\n5\n{}\n", STANDARD.encode([1u8; 31])),
                NoteErrorKind::BadRoot,
            ),
            (
                format!("o\n5\n{}\n", root.trim_end_matches('=')),
                NoteErrorKind::BadRoot,
            ),
            (
                format!("o\n5\n{root}\nx\ty\n"),
                NoteErrorKind::ControlChar(9),
            ),
        ];
        for (body, want) in cases {
            assert_eq!(
                Checkpoint::parse(&body).map_err(|e| e.kind),
                Err(want),
                "{body:?}"
            );
        }
        assert_eq!(ok(Checkpoint::parse(&format!("o\n0\n{root}\n"))).size, 0);
        assert_eq!(
            ok(Checkpoint::parse(&format!(
                "o\n18446744073709551615\n{root}\n"
            )))
            .size,
            u64::MAX
        );
        // Writing refuses what parsing would refuse.
        let mut cp = ok(Checkpoint::parse(&good));
        cp.origin = "a\nb".into();
        assert!(cp.body().is_err());
        cp.origin = String::new();
        assert!(cp.body().is_err());
        cp.origin = "o".into();
        cp.extensions = vec![String::new()];
        assert!(cp.body().is_err());
    }

    #[test]
    fn signing_refuses_bad_names_and_texts() {
        let key = SigningKey::from_bytes(&[3u8; 32]);
        for name in ["", "a b", "a+b", "a\u{a0}b", "tab\there"] {
            assert!(signature_line(TEXT, name, &key).is_err(), "{name:?}");
            assert!(NoteVerifier::new(name, key.verifying_key()).is_err());
        }
        assert!(sign_note("", &[("a", &key)]).is_err());
        assert!(sign_note("no newline", &[("a", &key)]).is_err());
        // A text may end in a blank line: the last blank line still separates.
        let msg = ok(sign_note("ends blank\n\n", &[("a", &key)]));
        assert_eq!(ok(parse_note(msg.as_bytes())).body, "ends blank\n\n");
        assert!(sign_note(TEXT, &[]).is_err());
        // Two signers, both verify.
        let k2 = SigningKey::from_bytes(&[4u8; 32]);
        let msg = ok(sign_note(TEXT, &[("a", &key), ("b.example/x", &k2)]));
        let note = ok(parse_note(msg.as_bytes()));
        let vs = [
            ok(NoteVerifier::new("a", key.verifying_key())),
            ok(NoteVerifier::new("b.example/x", k2.verifying_key())),
        ];
        assert_eq!(ok(verify_note(&note, &vs)).len(), 2);
    }

    #[test]
    fn rotated_keys_under_one_name() {
        // keys.json may list one id twice: each key has its own key hash.
        let old = SigningKey::from_bytes(&[5u8; 32]);
        let new = SigningKey::from_bytes(&[6u8; 32]);
        let vs = [
            ok(NoteVerifier::new("hq-ops", old.verifying_key())),
            ok(NoteVerifier::new("hq-ops", new.verifying_key())),
        ];
        assert_ne!(vs[0].key_hash, vs[1].key_hash);
        let msg = ok(sign_note(TEXT, &[("hq-ops", &new)]));
        let got = ok(verify_note(&ok(parse_note(msg.as_bytes())), &vs));
        assert_eq!(
            got,
            vec![Verified {
                signature: 0,
                verifier: 1
            }]
        );
    }

    #[test]
    fn error_text_is_sanitized() {
        let e = parse_note("x\n\n\u{2014} a\u{202e}b+ AAAA\n".as_bytes());
        let text = e.map_err(|e| e.to_string()).err().unwrap_or_default();
        assert!(!text.contains('\u{202e}'), "{text}");
    }
}
