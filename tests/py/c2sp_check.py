#!/usr/bin/env python3
"""Independent checker for Lumen's transparency-log formats, written from the public
specifications only (no Lumen code): C2SP signed-note + tlog-checkpoint with Ed25519,
RFC 9162 section 2.1.4 consistency proofs, and C2SP tlog-tiles files.

Usage: c2sp_check.py INPUT.json  -> prints a JSON verdict on stdout.

INPUT.json:
  {"notes": [{"text": str, "vkey": "<name>+<hex>+<base64>"}],
   "consistency": {"leaves": [hex data...],
                   "proofs": [{"old_size","size","old_root","root","path":[hex]}]},
   "tiles": {"dir": path, "size": n, "leaf_format": "leaf {i}",
             "paths": [[level, index, width, tile path, entries path or null]]}}
Requires the `cryptography` package for Ed25519.
"""
import base64
import binascii
import hashlib
import json
import os
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

EM_DASH = "\u2014"


def b64(s):
    # Strict standard base64 with padding: decode, then re-encode must round-trip.
    raw = base64.b64decode(s, validate=True)
    if base64.b64encode(raw).decode() != s:
        raise ValueError("non-canonical base64")
    return raw


# --- signed note + checkpoint -------------------------------------------------------

def parse_vkey(vkey):
    name, hash_hex, key_b64 = vkey.split("+", 2)
    key = b64(key_b64)
    if len(key) != 33 or key[0] != 0x01:
        raise ValueError("not an Ed25519 verifier key")
    key_hash = hashlib.sha256(name.encode() + b"\n" + key).digest()[:4]
    if key_hash.hex() != hash_hex:
        raise ValueError("key hash mismatch")
    return name, key_hash, Ed25519PublicKey.from_public_bytes(key[1:])


def verify_checkpoint_note(text, vkey):
    """(ok, detail): the note must carry a valid signature by vkey; then its body is
    read as a checkpoint."""
    name, key_hash, pub = parse_vkey(vkey)
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        return False, "control character"
    if not text.endswith("\n"):
        return False, "no final newline"
    split = text.rfind("\n\n")
    if split < 0:
        return False, "no blank line"
    body, sigs = text[: split + 1], text[split + 2 :]
    verified = False
    for line in sigs.split("\n")[:-1]:
        if not line.startswith(EM_DASH + " "):
            return False, "signature line without em dash"
        sig_name, _, sig_b64 = line[2:].partition(" ")
        try:
            raw = b64(sig_b64)
        except (ValueError, binascii.Error):
            return False, "bad base64"
        if sig_name != name or raw[:4] != key_hash:
            continue  # unknown signer: ignored
        try:
            pub.verify(raw[4:], body.encode())
        except InvalidSignature:
            return False, "bad signature by the known key"
        verified = True
    if not verified:
        return False, "no signature by the known key"
    lines = body[:-1].split("\n")
    if len(lines) < 3 or any(not line for line in lines):
        return False, "bad checkpoint body"
    origin, size, root_b64 = lines[0], lines[1], lines[2]
    if not size or any(c not in "0123456789" for c in size) or (len(size) > 1 and size[0] == "0"):
        return False, "bad size"
    root = b64(root_b64)
    if len(root) != 32:
        return False, "bad root"
    return True, {"origin": origin, "size": int(size), "root": root.hex(), "extensions": lines[3:]}


# --- RFC 6962 / 9162 Merkle tree ------------------------------------------------------

def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n):
    """Largest power of two smaller than n (n >= 2)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(hashes):
    n = len(hashes)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashes[0]
    k = split_point(n)
    return node_hash(mth(hashes[:k]), mth(hashes[k:]))


def subproof(m, hashes, complete):
    """RFC 9162 2.1.4.1 SUBPROOF(m, D[n], b)."""
    n = len(hashes)
    if m == n:
        return [] if complete else [mth(hashes)]
    k = split_point(n)
    if m <= k:
        return subproof(m, hashes[:k], complete) + [mth(hashes[k:])]
    return subproof(m - k, hashes[k:], False) + [mth(hashes[:k])]


def verify_consistency(first, second, first_hash, second_hash, path):
    """RFC 9162 2.1.4.2, plus the edges Lumen documents: equal sizes need an empty path
    and equal roots; size 0 needs an empty path and the empty-tree root."""
    if first > second:
        return False
    if first == 0:
        empty = hashlib.sha256(b"").digest()
        return not path and first_hash == empty and (second > 0 or second_hash == empty)
    if first == second:
        return not path and first_hash == second_hash
    if not path:
        return False
    path = list(path)
    if first & (first - 1) == 0:
        path.insert(0, first_hash)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_hash and sr == second_hash


def check_proofs(spec):
    leaves = [leaf_hash(bytes.fromhex(d)) for d in spec["leaves"]]
    out = []
    for p in spec["proofs"]:
        m, n = p["old_size"], p["size"]
        old_root, root = bytes.fromhex(p["old_root"]), bytes.fromhex(p["root"])
        path = [bytes.fromhex(h) for h in p["path"]]
        ok = verify_consistency(m, n, old_root, root, path)
        # Independently: roots and path from the recursive definitions.
        honest = n <= len(leaves) and old_root == mth(leaves[:m]) and root == mth(leaves[:n])
        if honest and 0 < m < n:
            honest = path == subproof(m, leaves[:n], True)
        elif honest:
            honest = path == []
        out.append({"verifies": ok, "matches_definition": honest})
    return out


# --- tlog-tiles -------------------------------------------------------------------------

def encode_index(n):
    s = "%03d" % (n % 1000)
    n //= 1000
    while n > 0:
        s = "x%03d/%s" % (n % 1000, s)
        n //= 1000
    return s


def tile_name(prefix, index, width):
    return prefix + "/" + encode_index(index) + ("" if width == 256 else ".p/%d" % width)


def check_tiles(spec):
    size, root_dir = spec["size"], spec["dir"]
    data = [spec["leaf_format"].format(i=i).encode() for i in range(size)]
    leaves = [leaf_hash(d) for d in data]
    want = {}
    level = 0
    while size >> (8 * level):
        count = size >> (8 * level)
        span = 256 ** level
        for index in range((count + 255) // 256):
            width = min(256, count - index * 256)
            start = index * 256
            content = b"".join(
                mth(leaves[(start + i) * span : (start + i + 1) * span]) for i in range(width)
            )
            want[tile_name("tile/%d" % level, index, width)] = content
            if level == 0:
                want[tile_name("tile/entries", index, width)] = b"".join(
                    len(d).to_bytes(2, "big") + d for d in data[start : start + width]
                )
        level += 1
    have = {}
    for dirpath, _, files in os.walk(root_dir):
        for f in files:
            full = os.path.join(dirpath, f)
            with open(full, "rb") as fh:
                have[os.path.relpath(full, root_dir)] = fh.read()
    errors = []
    for name in sorted(set(want) | set(have)):
        if name not in have:
            errors.append("missing " + name)
        elif name not in want:
            errors.append("unexpected " + name)
        elif have[name] != want[name]:
            errors.append("wrong content " + name)
    path_errors = []
    for level, index, width, path, entries in spec.get("paths", []):
        if path != tile_name("tile/%d" % level, index, width):
            path_errors.append(path)
        want_entries = tile_name("tile/entries", index, width) if level == 0 else None
        if entries != want_entries:
            path_errors.append(entries)
    return {"files": len(have), "errors": errors[:20], "path_errors": path_errors[:20]}


def main():
    with open(sys.argv[1], encoding="utf-8") as fh:
        spec = json.load(fh)
    result = {"notes": [], "consistency": [], "tiles": None}
    for n in spec.get("notes", []):
        ok, detail = verify_checkpoint_note(n["text"], n["vkey"])
        result["notes"].append({"ok": ok, "detail": detail})
    if "consistency" in spec:
        result["consistency"] = check_proofs(spec["consistency"])
    if "tiles" in spec:
        result["tiles"] = check_tiles(spec["tiles"])
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
