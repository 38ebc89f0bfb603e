//! RFC 6962 / RFC 9162 §2.1 Merkle tree hashing (SPEC §4.3): leaf and node hashes,
//! a streaming root builder with O(log n) memory, audit paths and their verifier.
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
    path_ranges(index, leaves.len() as u64)
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

#[cfg(test)]
mod tests {
    use super::*;

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
