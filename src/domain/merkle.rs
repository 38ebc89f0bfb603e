//! RFC 6962 / RFC 9162 §2.1 Merkle tree hashing (docs/ledger.md): leaf and node hashes,
//! a streaming root builder with O(log n) memory, audit paths and their verifier,
//! consistency proofs (RFC 9162 §2.1.4) and their verifier. Every proof is a list of
//! subtree ranges first (`path_ranges`, `consistency_ranges`), so a caller can compute
//! the hashes in one streaming pass over the file ([`RangeRoots`]).
//!
//! Written here rather than taken from a crate: the Rust CT crates either pull a
//! different SHA-256 stack or hold the whole tree in memory; the whole algorithm is
//! ~100 lines and is checked against the published RFC 6962 vectors.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// SHA-256 of nothing: the root of the empty tree.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Leaf hash: SHA-256(0x00 ‖ data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// Interior node hash: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Streaming root builder: keeps one perfect subtree per set bit of the leaf count.
#[derive(Debug, Clone, Default)]
pub struct RootBuilder {
    /// (hash, height) of perfect subtrees, largest first.
    stack: Vec<(Hash, u32)>,
    size: u64,
}

impl RootBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Add a leaf by its data.
    pub fn push_data(&mut self, data: &[u8]) {
        self.push_leaf_hash(leaf_hash(data));
    }

    /// Add a leaf by its leaf hash.
    pub fn push_leaf_hash(&mut self, leaf: Hash) {
        let mut cur = (leaf, 0u32);
        while let Some(&(top, height)) = self.stack.last() {
            if height != cur.1 {
                break;
            }
            self.stack.pop();
            cur = (node_hash(&top, &cur.0), height + 1);
        }
        self.stack.push(cur);
        self.size += 1;
    }

    /// The root of the leaves added so far (does not consume the builder).
    /// RFC 6962 splits at the largest power of two below n, which makes the root the
    /// right fold of the perfect subtrees: hash(s0, hash(s1, … s_k)).
    pub fn root(&self) -> Hash {
        let mut iter = self.stack.iter().rev();
        let Some(&(mut acc, _)) = iter.next() else {
            return empty_root();
        };
        for (h, _) in iter {
            acc = node_hash(h, &acc);
        }
        acc
    }
}

/// Root over a slice of leaf hashes.
pub fn root_of(leaves: &[Hash]) -> Hash {
    let mut b = RootBuilder::new();
    for l in leaves {
        b.push_leaf_hash(*l);
    }
    b.root()
}

/// The leaf ranges `[start, end)` whose subtree roots form the audit path of leaf
/// `index` in a tree of `size` leaves, in leaf-to-root order (RFC 6962 §2.1.1).
/// Empty when `index >= size`.
pub fn path_ranges(index: u64, size: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    if index >= size {
        return out;
    }
    // Walk root-to-leaf, then reverse.
    let (mut lo, mut hi) = (0u64, size);
    while hi - lo > 1 {
        let n = hi - lo;
        let k = largest_pow2_below(n);
        if index < lo + k {
            out.push((lo + k, hi));
            hi = lo + k;
        } else {
            out.push((lo, lo + k));
            lo += k;
        }
    }
    out.reverse();
    out
}

/// Largest power of two strictly below `n` (n ≥ 2).
fn largest_pow2_below(n: u64) -> u64 {
    if n < 2 {
        return 0;
    }
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Audit path of `index` over an in-memory slice of leaf hashes.
pub fn audit_path(leaves: &[Hash], index: u64) -> Vec<Hash> {
    roots_of_ranges(leaves, path_ranges(index, leaves.len() as u64))
}

/// The root of each leaf range, over an in-memory slice of leaf hashes.
fn roots_of_ranges(leaves: &[Hash], ranges: Vec<(u64, u64)>) -> Vec<Hash> {
    ranges
        .into_iter()
        .filter_map(|(a, b)| {
            let slice = leaves.get(usize::try_from(a).ok()?..usize::try_from(b).ok()?)?;
            Some(root_of(slice))
        })
        .collect()
}

/// Streaming audit path: feed every leaf hash in order; memory is O(log n).
#[derive(Debug, Clone)]
pub struct PathBuilder {
    ranges: Vec<(u64, u64)>,
    /// Builders in range order (ranges sorted by start for feeding).
    order: Vec<usize>,
    builders: Vec<RootBuilder>,
    next: u64,
    cursor: usize,
}

impl PathBuilder {
    pub fn new(index: u64, size: u64) -> Self {
        let ranges = path_ranges(index, size);
        let mut order: Vec<usize> = (0..ranges.len()).collect();
        order.sort_by_key(|&i| ranges.get(i).map(|r| r.0).unwrap_or(0));
        let builders = vec![RootBuilder::new(); ranges.len()];
        PathBuilder {
            ranges,
            order,
            builders,
            next: 0,
            cursor: 0,
        }
    }

    /// Feed the next leaf hash (leaf `self.next`).
    pub fn push_leaf_hash(&mut self, leaf: Hash) {
        let i = self.next;
        self.next += 1;
        while let Some(&r) = self.order.get(self.cursor) {
            let Some(&(a, b)) = self.ranges.get(r) else {
                break;
            };
            if i >= b {
                self.cursor += 1;
                continue;
            }
            if i >= a
                && let Some(builder) = self.builders.get_mut(r)
            {
                builder.push_leaf_hash(leaf);
            }
            break;
        }
    }

    /// The path, leaf-to-root.
    pub fn finish(&self) -> Vec<Hash> {
        self.builders.iter().map(RootBuilder::root).collect()
    }
}

/// Verify an inclusion proof (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, path: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && &r == root
}

/// The leaf ranges `[start, end)` whose subtree roots form the consistency proof from
/// the tree of `old_size` leaves to the tree of `size` leaves — RFC 9162 §2.1.4.1
/// `PROOF(m, D[n])` — in proof order. Feed them to [`RangeRoots`] (or
/// [`ConsistencyBuilder`]) to compute the proof in one pass over the leaves.
///
/// Empty when `old_size == 0` or `old_size >= size`: the proof from the empty tree and
/// the proof between equal sizes are empty (see [`verify_consistency`]); a shrinking
/// "proof" does not exist.
pub fn consistency_ranges(old_size: u64, size: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    if old_size == 0 || old_size >= size {
        return out;
    }
    // SUBPROOF(m, D[lo:hi], complete), unrolled: each step emits the sibling subtree
    // and descends into the half that holds leaf m-1. Invariant: 1 <= m <= hi - lo.
    let (mut lo, mut hi, mut m) = (0u64, size, old_size);
    let mut complete = true;
    let mut siblings = Vec::new();
    loop {
        let n = hi - lo;
        if m == n {
            // SUBPROOF(m, D[m], true) = {}; SUBPROOF(m, D[m], false) = {MTH(D[m])}.
            if !complete {
                out.push((lo, hi));
            }
            break;
        }
        let k = largest_pow2_below(n);
        if m <= k {
            siblings.push((lo + k, hi));
            hi = lo + k;
        } else {
            siblings.push((lo, lo + k));
            lo += k;
            m -= k;
            complete = false;
        }
    }
    // The recursion appends each sibling after the deeper part of the proof.
    out.extend(siblings.into_iter().rev());
    out
}

/// Consistency proof from the first `old_size` leaves to all of `leaves`, in memory.
/// Empty when `old_size == 0`, `old_size >= leaves.len()`.
pub fn consistency_proof(leaves: &[Hash], old_size: u64) -> Vec<Hash> {
    roots_of_ranges(leaves, consistency_ranges(old_size, leaves.len() as u64))
}

/// Roots of a list of disjoint leaf ranges, computed in one pass over the leaf hashes
/// in order: one [`RootBuilder`] is active at a time, so memory is O(ranges + log n).
/// Works for [`path_ranges`] and [`consistency_ranges`] alike.
#[derive(Debug, Clone)]
pub struct RangeRoots {
    ranges: Vec<(u64, u64)>,
    /// Indexes into `ranges`, by start.
    order: Vec<usize>,
    roots: Vec<Option<Hash>>,
    cursor: usize,
    current: RootBuilder,
    next: u64,
    /// False when the ranges overlap or one is empty: `finish` then returns `None`.
    valid: bool,
}

impl RangeRoots {
    pub fn new(ranges: Vec<(u64, u64)>) -> Self {
        let mut order: Vec<usize> = (0..ranges.len()).collect();
        order.sort_by_key(|&i| ranges.get(i).map_or(0, |r| r.0));
        let mut valid = ranges.iter().all(|&(a, b)| a < b);
        let mut prev_end = 0u64;
        for &i in &order {
            if let Some(&(a, b)) = ranges.get(i) {
                valid &= a >= prev_end;
                prev_end = b;
            }
        }
        let roots = vec![None; ranges.len()];
        RangeRoots {
            ranges,
            order,
            roots,
            cursor: 0,
            current: RootBuilder::new(),
            next: 0,
            valid,
        }
    }

    /// Feed the next leaf hash (leaf number `self.leaves()`).
    pub fn push_leaf_hash(&mut self, leaf: Hash) {
        let i = self.next;
        self.next += 1;
        while let Some(&r) = self.order.get(self.cursor) {
            let Some(&(a, b)) = self.ranges.get(r) else {
                return;
            };
            if i < a {
                return;
            }
            if i >= b {
                // Only reachable for an empty or overlapping range (already invalid).
                self.cursor += 1;
                continue;
            }
            self.current.push_leaf_hash(leaf);
            if i + 1 == b {
                if let Some(slot) = self.roots.get_mut(r) {
                    *slot = Some(self.current.root());
                }
                self.current = RootBuilder::new();
                self.cursor += 1;
            }
            return;
        }
    }

    /// Leaves fed so far.
    pub fn leaves(&self) -> u64 {
        self.next
    }

    /// The roots, in the order the ranges were given; `None` until every range has
    /// been fed completely (or when the ranges were not disjoint).
    pub fn finish(&self) -> Option<Vec<Hash>> {
        if !self.valid {
            return None;
        }
        self.roots.iter().copied().collect()
    }
}

/// A consistency proof between two tree sizes, with both roots: what
/// `ledger prove --consistency` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    pub old_size: u64,
    pub size: u64,
    pub old_root: Hash,
    pub root: Hash,
    pub path: Vec<Hash>,
}

impl ConsistencyProof {
    /// Check the proof against its own roots (RFC 9162 §2.1.4.2).
    pub fn verify(&self) -> bool {
        verify_consistency(
            self.old_size,
            self.size,
            &self.old_root,
            &self.root,
            &self.path,
        )
    }

    /// `{"old_size":M,"size":N,"old_root":hex,"root":hex,"path":[hex…]}`, in that order.
    pub fn to_json(&self) -> serde_json::Value {
        let mut obj = serde_json::Map::new();
        obj.insert("old_size".into(), self.old_size.into());
        obj.insert("size".into(), self.size.into());
        obj.insert("old_root".into(), hex::encode(self.old_root).into());
        obj.insert("root".into(), hex::encode(self.root).into());
        obj.insert(
            "path".into(),
            self.path.iter().map(hex::encode).collect::<Vec<_>>().into(),
        );
        serde_json::Value::Object(obj)
    }
}

/// Streaming consistency proof: feed the leaf hashes of the file in order (leaves past
/// `size` are ignored); it keeps the proof's subtree roots, the root at `old_size` and
/// the root at `size`. Memory is O(log n) whatever the number of leaves.
#[derive(Debug, Clone)]
pub struct ConsistencyBuilder {
    old_size: u64,
    size: u64,
    ranges: RangeRoots,
    tree: RootBuilder,
    old_root: Option<Hash>,
}

impl ConsistencyBuilder {
    pub fn new(old_size: u64, size: u64) -> Self {
        ConsistencyBuilder {
            old_size,
            size,
            ranges: RangeRoots::new(consistency_ranges(old_size, size)),
            tree: RootBuilder::new(),
            old_root: (old_size == 0).then(empty_root),
        }
    }

    /// Feed the next leaf hash.
    pub fn push_leaf_hash(&mut self, leaf: Hash) {
        if self.tree.size() >= self.size {
            return;
        }
        self.ranges.push_leaf_hash(leaf);
        self.tree.push_leaf_hash(leaf);
        if self.tree.size() == self.old_size {
            self.old_root = Some(self.tree.root());
        }
    }

    /// Leaves taken so far (at most `size`).
    pub fn leaves(&self) -> u64 {
        self.tree.size()
    }

    /// The proof, once `size` leaves were fed; `None` before that, or when
    /// `old_size > size`.
    pub fn finish(&self) -> Option<ConsistencyProof> {
        if self.old_size > self.size || self.tree.size() != self.size {
            return None;
        }
        Some(ConsistencyProof {
            old_size: self.old_size,
            size: self.size,
            old_root: self.old_root?,
            root: self.tree.root(),
            path: self.ranges.finish()?,
        })
    }
}

/// Verify a consistency proof (RFC 9162 §2.1.4.2): the tree of `old_size` leaves with
/// root `old_root` is a prefix of the tree of `size` leaves with root `new_root`.
///
/// The RFC defines proofs for `0 < old_size < size` only; the edges are decided here:
/// - `old_size == size`: the proof must be empty and the roots equal;
/// - `old_size == 0`: the empty tree is a prefix of every tree, so the proof must be
///   empty and `old_root` must be the empty-tree root (SHA-256 of nothing) — a size-0
///   checkpoint with any other root is not a tree head at all (and when `size` is 0
///   too, `new_root` must be that root as well);
/// - `old_size > size`: never consistent.
///
/// The sizes only shape the walk: like every RFC 9162 verifier, this one can accept the
/// same roots and path for a neighbouring size of the same shape (the real Argon 2020
/// proof to 961984013 also "verifies" to 961984012). What binds a size to a root is the
/// signed checkpoint that states both.
pub fn verify_consistency(
    old_size: u64,
    size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old_size > size {
        return false;
    }
    if old_size == 0 {
        return proof.is_empty() && *old_root == empty_root() && (size > 0 || new_root == old_root);
    }
    if old_size == size {
        return proof.is_empty() && old_root == new_root;
    }
    // 1. An empty path fails.
    let Some((head, tail)) = proof.split_first() else {
        return false;
    };
    // 2. When old_size is a power of two, old_root is the first node of the path.
    let (first, rest) = if old_size.is_power_of_two() {
        (old_root, proof)
    } else {
        (head, tail)
    };
    // 3.–4.
    let (mut fnode, mut snode) = (old_size - 1, size - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    // 5.
    let (mut fr, mut sr) = (*first, *first);
    // 6.
    for c in rest {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    // 7.
    snode == 0 && &fr == old_root && &sr == new_root
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6962 reference leaves and roots (the vectors of the certificate-transparency
    /// and transparency-dev/merkle test suites).
    fn rfc_leaves() -> Vec<Hash> {
        [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|h| leaf_hash(&hex::decode(h).unwrap_or_default()))
        .collect()
    }

    fn h(s: &str) -> Hash {
        let v = hex::decode(s).unwrap_or_default();
        v.as_slice().try_into().unwrap_or([0u8; 32])
    }

    const RFC_ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    /// (m, n, proof) from the published RFC 6962 consistency vectors.
    fn rfc_consistency() -> Vec<(u64, u64, Vec<Hash>)> {
        vec![
            (1, 1, vec![]),
            (
                1,
                8,
                vec![
                    h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                    h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                    h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
                ],
            ),
            (
                6,
                8,
                vec![
                    h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                    h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
                ],
            ),
            (
                2,
                5,
                vec![
                    h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                    h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                ],
            ),
            (
                6,
                7,
                vec![
                    h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                    h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
                    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
                ],
            ),
        ]
    }

    #[test]
    fn rfc6962_roots() {
        let leaves = rfc_leaves();
        for (n, want) in RFC_ROOTS.iter().enumerate() {
            assert_eq!(hex::encode(root_of(&leaves[..=n])), *want, "size {}", n + 1);
        }
    }

    #[test]
    fn rfc6962_consistency_vectors_are_generated_and_verified() {
        let leaves = rfc_leaves();
        for (m, n, want) in rfc_consistency() {
            let tree = &leaves[..n as usize];
            assert_eq!(consistency_proof(tree, m), want, "generate {m}->{n}");
            let mut b = ConsistencyBuilder::new(m, n);
            for l in tree {
                b.push_leaf_hash(*l);
            }
            let p = b.finish().unwrap_or_else(|| panic!("streaming {m}->{n}"));
            assert_eq!(p.path, want, "streaming {m}->{n}");
            let (r1, r2) = (h(RFC_ROOTS[m as usize - 1]), h(RFC_ROOTS[n as usize - 1]));
            assert_eq!((p.old_root, p.root), (r1, r2));
            assert!(verify_consistency(m, n, &r1, &r2, &want), "verify {m}->{n}");
            if want.is_empty() {
                continue;
            }
            // The corruptions the transparency-dev suite probes: all must fail.
            let bad_root = h("abacaba000000000000000000000000000000000000000000060061e00123456");
            let mut probes: Vec<(u64, u64, Hash, Hash, Vec<Hash>)> = vec![
                (m - 1, n, r1, r2, want.clone()),
                (m + 1, n, r1, r2, want.clone()),
                (m ^ 2, n, r1, r2, want.clone()),
                (m, n * 2, r1, r2, want.clone()),
                (m, n / 2, r1, r2, want.clone()),
                (m, n, bad_root, r2, want.clone()),
                (m, n, r1, bad_root, want.clone()),
                (m, n, r2, r1, want.clone()),
                (m, n, r1, r2, vec![]),
                (m, n, r1, r2, [want.clone(), vec![r1]].concat()),
                (m, n, r1, r2, [want.clone(), vec![r2]].concat()),
                (m, n, r1, r2, [vec![r1], want.clone()].concat()),
                (m, n, r1, r2, [vec![r2], want.clone()].concat()),
                (m, n, r1, r2, [vec![want[0]], want.clone()].concat()),
                (m, n, r1, r2, want[..want.len() - 1].to_vec()),
            ];
            for i in 0..want.len() {
                let mut p = want.clone();
                p[i][0] ^= 16;
                probes.push((m, n, r1, r2, p));
            }
            for (i, (pm, pn, a, b, p)) in probes.iter().enumerate() {
                assert!(
                    !verify_consistency(*pm, *pn, a, b, p),
                    "probe {i} verified for {m}->{n}"
                );
            }
        }
    }

    #[test]
    fn consistency_edges() {
        let (a, b) = (h(RFC_ROOTS[0]), h(RFC_ROOTS[1]));
        let empty = empty_root();
        // Equal sizes: empty proof, same root.
        assert!(verify_consistency(1, 1, &a, &a, &[]));
        assert!(!verify_consistency(1, 1, &a, &b, &[]));
        assert!(!verify_consistency(1, 1, &a, &a, &[empty]));
        assert!(verify_consistency(0, 0, &empty, &empty, &[]));
        assert!(!verify_consistency(0, 0, &a, &a, &[]));
        // From the empty tree: empty proof, old root must be the empty-tree root.
        assert!(verify_consistency(0, 5, &empty, &b, &[]));
        assert!(!verify_consistency(0, 5, &a, &b, &[]));
        assert!(!verify_consistency(0, 5, &empty, &b, &[a]));
        // Shrinking is never consistent.
        assert!(!verify_consistency(2, 1, &b, &a, &[]));
        assert!(consistency_ranges(0, 5).is_empty());
        assert!(consistency_ranges(5, 5).is_empty());
        assert!(consistency_ranges(6, 5).is_empty());
        // The streaming builder covers the edges too.
        let leaves = rfc_leaves();
        for (m, n) in [(0u64, 0u64), (0, 3), (3, 3)] {
            let mut builder = ConsistencyBuilder::new(m, n);
            for l in &leaves {
                builder.push_leaf_hash(*l);
            }
            let p = builder.finish().unwrap_or_else(|| panic!("{m}->{n}"));
            assert!(p.path.is_empty() && p.verify(), "{m}->{n}");
            assert_eq!(p.root, root_of(&leaves[..n as usize]));
        }
        assert!(ConsistencyBuilder::new(3, 2).finish().is_none());
        let mut short = ConsistencyBuilder::new(2, 5);
        short.push_leaf_hash(leaves[0]);
        assert!(short.finish().is_none(), "too few leaves");
    }

    /// A real Certificate Transparency proof (Google Argon 2020, 3654490 → 961984013;
    /// the vector golang.org/x/mod/sumdb/tlog checks in `TestCertificateTransparency`).
    #[test]
    fn argon2020_consistency_proof_verifies() {
        use base64::Engine;
        let b64 = |s: &str| -> Hash {
            let v = base64::engine::general_purpose::STANDARD
                .decode(s)
                .unwrap_or_default();
            v.as_slice().try_into().unwrap_or([0u8; 32])
        };
        let proof: Vec<Hash> = [
            "80Sfbj6UQEdVSZCSIgh9NMPj3vCBzcc1A48B2crJSWg=",
            "FZcrgAHUk6nNPviJZq8kEK6jCG1d18pJOFE45ZDc1TQ=",
            "Q67reWXmPBo1UfmwBap4Xi9PMPfFdUSSw3WGlRZdG7k=",
            "eJ7CyhR4PxzBxDIsWgrVYW1eFUb9ndgf46tFmiqVrxA=",
            "QrDwp062Grm5WY8KdrhFsBuuNjGzRox2Jb8PmVL5OYw=",
            "XM4YMjMEdLH/XJam/ZWyaP14k3cmsOtnPsOWQ54lW1s=",
            "SGiBh+jOTGccXU48ZzgQ88lRcBmtB4wz4oSDndv2QTg=",
            "WAS6txqNLYKGL1GdBdpqmV42TTfn6cJsuDsqLXuTCNI=",
            "QFmRS0rirUA7ZN3lxFjDncV+E1OCrn3NUB4RCp+5fzc=",
            "Hdbp7It2XBNZmNDBpCN/KPd7vfVqxgzwOosqVIaEA9E=",
            "mxvHL0ZiblBdD7j7pIa1jlfB0gSqfJ6oX0UGo7L0VsU=",
            "q5hjyvoW6TL/PThgcitpDcSTrnKX2p1+aqscqH2euRA=",
            "jTOWDqt3IHj2NVFeezyBz2ofpru+ztEywqKUAfFclKI=",
            "GIRn0w3HqJdvU9j1WVD//eR6lk2AaTVjyzjsJNP8U88=",
            "x52GJvxG81fnQBrgOTbll1A5tz95/LXK0Ag1NhB0r1I=",
            "6/0OqrcTgc3o5dD5PymmoC96lB9yLPFuTHVvLy8fSGk=",
            "Gf+iKLfcXO5l4JEFmsZvSdG5q1uEeWPfYLrds6pmjz0=",
            "DGuaco+McyM3AfRSF6qX7RwSetwe2ieYJmxw5e9rVx0=",
            "2tQJ9V32hnYp+fdpP6TcjmgJmLeNVOMKM0Ml1kk4cNU=",
            "3PapK+IkyJr8I9yAErAmzuZezzLMzsg+PfeRCgNW8NQ=",
            "s6xiYeejb+wtqHA+URJZ2I/SCPyIW8coP6aB00FJbMY=",
            "z9lSpmdTcr5M5ZzKlc4EPh3SrSypKFdk6JUF/UccaZU=",
            "GXIElfmnRuWfbA4z7ubV/UwlpSRUbUeec7oL5HDDnh0=",
            "pR0SH/NYP6s9+8azWwaeUXA4Ze/3WCIgMfh5YW6wvcE=",
            "f3GuAKYVrF8RBg3s15jvA/YvV9oAliWtzP/imwPhQVA=",
            "WHn8zDxlVgkV+lSlmzaOdfSBrTHoRr5nT3d76q0KKWE=",
            "f2uV2ZxVgULzLPKuZcowRY3ZY7fRlX59iDBjV1R8kNQ=",
            "NzQVjJsvQwbi7WStMr9oFkh9VbHfK7LB6o7WwAqwNTs=",
            "C0LttBeYHZHgL+032JIcJC3CTBIyza/hsbmJUgJfmDI=",
            "nixU5CWTFVDlF4BGdcU6kA7WSYurEpe9jRWc+F/7sOc=",
        ]
        .iter()
        .map(|s| b64(s))
        .collect();
        let old_root = b64("AuIZ5V6sDUj1vn3Y1K85oOaQ7y+FJJKtyRTl1edIKBQ=");
        let root = b64("dwlueapdd7LaOEnX2W2Wp9v2XE+KzejHRQGHwEx0oaM=");
        assert!(verify_consistency(
            3654490, 961984013, &old_root, &root, &proof
        ));
        assert!(!verify_consistency(
            3654491, 961984013, &old_root, &root, &proof
        ));
        let mut bad = proof.clone();
        bad[29][31] ^= 1;
        assert!(!verify_consistency(
            3654490, 961984013, &old_root, &root, &bad
        ));
        assert_eq!(consistency_ranges(3654490, 961984013).len(), proof.len());
    }

    /// For every 1 <= m <= n <= 70 over random leaves: the in-memory and streaming
    /// proofs agree, verify, and every tampering (a flipped bit in any node, a wrong
    /// root, a dropped or extra node) fails. Sizes are not mutated: a neighbouring
    /// size of the same shape verifies too (see `verify_consistency`).
    #[test]
    fn consistency_property_up_to_70() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x6962);
        let leaves: Vec<Hash> = (0..70)
            .map(|_| leaf_hash(&rng.random::<[u8; 16]>()))
            .collect();
        let roots: Vec<Hash> = (0..=70).map(|n| root_of(&leaves[..n])).collect();
        let mut checked = 0;
        for n in 1..=70u64 {
            for m in 1..=n {
                let tree = &leaves[..n as usize];
                let proof = consistency_proof(tree, m);
                let mut b = ConsistencyBuilder::new(m, n);
                for l in &leaves {
                    b.push_leaf_hash(*l);
                }
                let streamed = b.finish().unwrap_or_else(|| panic!("{m}->{n}"));
                assert_eq!(streamed.path, proof, "{m}->{n}");
                let (r1, r2) = (roots[m as usize], roots[n as usize]);
                assert_eq!((streamed.old_root, streamed.root), (r1, r2));
                assert!(verify_consistency(m, n, &r1, &r2, &proof), "{m}->{n}");
                assert_eq!(proof.is_empty(), m == n);
                for i in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[i][(i * 5) % 32] ^= 1 << (i % 8);
                    assert!(
                        !verify_consistency(m, n, &r1, &r2, &bad),
                        "{m}->{n} node {i}"
                    );
                }
                if m < n {
                    let mut r1x = r1;
                    r1x[0] ^= 1;
                    let mut r2x = r2;
                    r2x[31] ^= 0x80;
                    assert!(!verify_consistency(m, n, &r1x, &r2, &proof));
                    assert!(!verify_consistency(m, n, &r1, &r2x, &proof));
                    assert!(!verify_consistency(m, n, &r1, &r2, &proof[1..]));
                    assert!(!verify_consistency(
                        m,
                        n,
                        &r1,
                        &r2,
                        &proof[..proof.len() - 1]
                    ));
                    let longer = [proof.clone(), vec![r1]].concat();
                    assert!(!verify_consistency(m, n, &r1, &r2, &longer));
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 70 * 71 / 2);
    }

    #[test]
    fn range_roots_match_the_inclusion_collector() {
        let leaves: Vec<Hash> = (0u32..45).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        for n in 1..=leaves.len() as u64 {
            for i in 0..n {
                let mut rr = RangeRoots::new(path_ranges(i, n));
                for l in &leaves[..n as usize] {
                    rr.push_leaf_hash(*l);
                }
                assert_eq!(rr.finish(), Some(audit_path(&leaves[..n as usize], i)));
            }
        }
        assert!(RangeRoots::new(vec![(0, 4), (2, 6)]).finish().is_none());
        assert!(RangeRoots::new(vec![(3, 3)]).finish().is_none());
    }

    #[test]
    fn consistency_json_shape() {
        let leaves = rfc_leaves();
        let mut b = ConsistencyBuilder::new(6, 8);
        for l in &leaves {
            b.push_leaf_hash(*l);
        }
        let p = b.finish().unwrap_or_else(|| panic!("proof"));
        let text = p.to_json().to_string();
        assert!(text.starts_with(&format!(
            "{{\"old_size\":6,\"size\":8,\"old_root\":\"{}\",\"root\":\"{}\",\"path\":[\"0ebc5d34",
            RFC_ROOTS[5], RFC_ROOTS[7]
        )));
    }

    #[test]
    fn pow2() {
        assert_eq!(largest_pow2_below(2), 1);
        assert_eq!(largest_pow2_below(3), 2);
        assert_eq!(largest_pow2_below(4), 2);
        assert_eq!(largest_pow2_below(5), 4);
        assert_eq!(largest_pow2_below(1 << 40), 1 << 39);
    }

    #[test]
    fn streaming_path_matches_in_memory() {
        let leaves: Vec<Hash> = (0u32..37).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        for n in 1..=leaves.len() {
            let tree = &leaves[..n];
            let root = root_of(tree);
            for m in 0..n as u64 {
                let mut pb = PathBuilder::new(m, n as u64);
                for l in tree {
                    pb.push_leaf_hash(*l);
                }
                let path = pb.finish();
                assert_eq!(path, audit_path(tree, m), "n={n} m={m}");
                assert!(verify_inclusion(
                    &tree[m as usize],
                    m,
                    n as u64,
                    &path,
                    &root
                ));
            }
        }
    }
}
