//! C2SP tlog-tiles (c2sp.org/tlog-tiles) paths and contents, as pure functions: which
//! tiles a tree of a given size has, their paths, the bytes of a hash tile and of an
//! entry bundle. A writer (`ledger tiles --out DIR`) feeds leaves to [`TileBuilder`]
//! and [`BundleBuilder`] and stores what they return at [`Tile::path`] /
//! [`Tile::entries_path`].
//!
//! - Tiles have height 8: a full tile holds 256 hashes (8,192 bytes). At level 0 they
//!   are leaf hashes; at level `l` each is the root of a full subtree of 256^l leaves,
//!   i.e. the root of one full tile of the level below.
//! - Path `tile/<L>/<N>[.p/<W>]`: `N` in zero-padded 3-digit groups, all but the last
//!   prefixed with `x` (1234067 → `x001/x234/067`); `.p/<W>` only for a partial tile of
//!   `W` (1..=255) hashes. Entry bundles: `tile/entries/<N>[.p/<W>]`.
//! - For a tree of `s` leaves, level `l` has `floor(s / 256^(l+1))` full tiles and one
//!   partial tile of `floor(s / 256^l) mod 256` hashes when that is not zero.
//! - An entry bundle is the level-0 tile's entries, each a big-endian u16 length then
//!   the entry bytes — so an entry longer than 65,535 bytes cannot be bundled.
//!
//! Checked against the spec's own examples (sizes 256 and 70,000) and the path
//! encoding of Go's `golang.org/x/mod/sumdb/tlog` `Tile.Path`, whose tiles of height 8
//! hold the same hashes (Go adds the height to the path: `tile/8/<L>/<N>`).

use crate::domain::merkle::{Hash, RootBuilder, root_of};

/// Tile height: a tile spans 8 tree levels.
pub const TILE_HEIGHT: u32 = 8;
/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u64 = 256;
/// Longest entry an entry bundle can hold (its length is a u16).
pub const MAX_ENTRY_BYTES: usize = u16::MAX as usize;
/// Highest level a tile path may name.
pub const MAX_LEVEL: u8 = 63;

/// One tile: level, index within the level, width (1..=256 hashes; 256 is full).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tile {
    pub level: u8,
    pub index: u64,
    pub width: u16,
}

/// What a tile path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileKind {
    Hashes,
    Entries,
}

/// An entry too long for an entry bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("entry {index} is {len} bytes; an entry bundle holds at most {MAX_ENTRY_BYTES}")]
pub struct EntryTooLong {
    pub index: u64,
    pub len: usize,
}

impl Tile {
    pub fn is_full(&self) -> bool {
        u64::from(self.width) == TILE_WIDTH
    }

    /// `tile/<L>/<N>[.p/<W>]`
    pub fn path(&self) -> String {
        format!("tile/{}/{}", self.level, self.suffix())
    }

    /// `tile/entries/<N>[.p/<W>]`: the entry bundle of a level-0 tile (`None` above).
    pub fn entries_path(&self) -> Option<String> {
        (self.level == 0).then(|| format!("tile/entries/{}", self.suffix()))
    }

    fn suffix(&self) -> String {
        let n = encode_index(self.index);
        if self.is_full() {
            n
        } else {
            format!("{n}.p/{}", self.width)
        }
    }

    /// Leaves covered, `[start, end)`; `None` if it does not fit in u64.
    pub fn leaf_range(&self) -> Option<(u64, u64)> {
        let span = subtree_leaves(self.level)?;
        let start = self.index.checked_mul(TILE_WIDTH)?.checked_mul(span)?;
        let end = start.checked_add(u64::from(self.width).checked_mul(span)?)?;
        Some((start, end))
    }
}

/// Leaves under one hash of a level-`level` tile: 256^level.
fn subtree_leaves(level: u8) -> Option<u64> {
    1u64.checked_shl(u32::from(level).checked_mul(TILE_HEIGHT)?)
        .filter(|_| u32::from(level) * TILE_HEIGHT < 64)
}

/// Tile index in 3-digit groups: 1234067 → `x001/x234/067`, 5 → `005`.
pub fn encode_index(n: u64) -> String {
    let mut out = format!("{:03}", n % 1000);
    let mut rest = n / 1000;
    while rest > 0 {
        out = format!("x{:03}/{out}", rest % 1000);
        rest /= 1000;
    }
    out
}

/// Parse a tile or entry-bundle path. Strict: only the canonical spelling that
/// [`Tile::path`] / [`Tile::entries_path`] writes is accepted.
pub fn parse_path(path: &str) -> Option<(TileKind, Tile)> {
    let rest = path.strip_prefix("tile/")?;
    let (level_text, rest) = rest.split_once('/')?;
    let (kind, level) = if level_text == "entries" {
        (TileKind::Entries, 0u8)
    } else {
        let l: u8 = parse_decimal(level_text)?.try_into().ok()?;
        (TileKind::Hashes, l)
    };
    if level > MAX_LEVEL {
        return None;
    }
    let (index_text, width) = match rest.split_once(".p/") {
        Some((n, w)) => {
            let w = parse_decimal(w)?;
            if !(1..TILE_WIDTH).contains(&w) {
                return None;
            }
            (n, w as u16)
        }
        None => (rest, TILE_WIDTH as u16),
    };
    let mut index: u64 = 0;
    let groups: Vec<&str> = index_text.split('/').collect();
    for (i, g) in groups.iter().enumerate() {
        let digits = if i + 1 < groups.len() {
            g.strip_prefix('x')?
        } else {
            g
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        index = index
            .checked_mul(1000)?
            .checked_add(digits.parse::<u64>().ok()?)?;
    }
    let tile = Tile {
        level,
        index,
        width,
    };
    // Leading zero groups (`x000/001`) are not canonical.
    (encode_index(index) == index_text).then_some((kind, tile))
}

/// Decimal without sign or leading zeros.
fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// Every hash tile of a tree of `size` leaves, level by level (full tiles, then the
/// level's partial tile). Entry bundles are the level-0 tiles' counterparts.
pub fn tiles_for_size(size: u64) -> Vec<Tile> {
    new_tiles(0, size)
}

/// The tiles a tree of `size` leaves has that one of `old` leaves lacks: what a writer
/// adds when the log grows (full tiles of `old` never change; partial tiles are
/// replaced by wider ones). Empty when `size <= old`.
pub fn new_tiles(old: u64, size: u64) -> Vec<Tile> {
    let mut out = Vec::new();
    if size <= old {
        return out;
    }
    for level in 0..=MAX_LEVEL {
        let shift = u32::from(level) * TILE_HEIGHT;
        if shift >= 64 {
            break;
        }
        // Hashes at this level: roots of full 256^level-leaf subtrees.
        let (have, want) = (old >> shift, size >> shift);
        if want == 0 {
            break;
        }
        if have == want {
            continue;
        }
        for index in have / TILE_WIDTH..want / TILE_WIDTH {
            out.push(Tile {
                level,
                index,
                width: TILE_WIDTH as u16,
            });
        }
        let w = want % TILE_WIDTH;
        if w > 0 {
            out.push(Tile {
                level,
                index: want / TILE_WIDTH,
                width: w as u16,
            });
        }
    }
    out
}

/// The bytes of a hash tile, computed from all the level-0 leaf hashes in memory;
/// `None` when `leaves` is too short for it.
pub fn tile_bytes(tile: &Tile, leaves: &[Hash]) -> Option<Vec<u8>> {
    let span = usize::try_from(subtree_leaves(tile.level)?).ok()?;
    let (start, end) = tile.leaf_range()?;
    let start = usize::try_from(start).ok()?;
    let end = usize::try_from(end).ok()?;
    let all = leaves.get(start..end)?;
    let mut out = Vec::with_capacity(usize::from(tile.width) * 32);
    for chunk in all.chunks(span) {
        out.extend_from_slice(&root_of(chunk));
    }
    Some(out)
}

/// Streaming hash-tile writer: feed the leaf hashes in order; it returns each full tile
/// as it completes and the partial tiles on demand. Memory: at most 255 hashes per
/// level (≤ 8 levels for a u64 size).
#[derive(Debug, Clone, Default)]
pub struct TileBuilder {
    /// Pending hashes of each level (fewer than 256).
    levels: Vec<Vec<Hash>>,
    /// Full tiles emitted per level.
    full: Vec<u64>,
    size: u64,
}

impl TileBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Leaves fed so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Add the next leaf hash; returns the full tiles it completes, lowest level first.
    pub fn push_leaf_hash(&mut self, leaf: Hash) -> Vec<(Tile, Vec<u8>)> {
        self.size += 1;
        let mut done = Vec::new();
        let mut carry = leaf;
        let mut level = 0usize;
        loop {
            if self.levels.len() <= level {
                self.levels.push(Vec::with_capacity(TILE_WIDTH as usize));
                self.full.push(0);
            }
            let (Some(buf), Some(count)) = (self.levels.get_mut(level), self.full.get_mut(level))
            else {
                return done;
            };
            buf.push(carry);
            if (buf.len() as u64) < TILE_WIDTH {
                return done;
            }
            // A full tile: its hashes are roots of equal perfect subtrees, so its
            // subtree root is their pairwise fold — RootBuilder does exactly that.
            let mut rb = RootBuilder::new();
            let mut bytes = Vec::with_capacity(TILE_WIDTH as usize * 32);
            for h in buf.iter() {
                rb.push_leaf_hash(*h);
                bytes.extend_from_slice(h);
            }
            buf.clear();
            let tile = Tile {
                level: level as u8,
                index: *count,
                width: TILE_WIDTH as u16,
            };
            *count += 1;
            done.push((tile, bytes));
            carry = rb.root();
            level += 1;
        }
    }

    /// The partial tiles of the current size, lowest level first.
    pub fn partial_tiles(&self) -> Vec<(Tile, Vec<u8>)> {
        self.levels
            .iter()
            .zip(&self.full)
            .enumerate()
            .filter(|(_, (buf, _))| !buf.is_empty())
            .map(|(level, (buf, count))| {
                let tile = Tile {
                    level: level as u8,
                    index: *count,
                    width: buf.len() as u16,
                };
                (tile, buf.concat())
            })
            .collect()
    }
}

/// Streaming entry-bundle writer: feed the entries (ledger lines without `\n`) in
/// order; it returns each full bundle as it completes, and the partial one on demand.
#[derive(Debug, Clone, Default)]
pub struct BundleBuilder {
    buf: Vec<u8>,
    count: u16,
    index: u64,
}

impl BundleBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add the next entry; `Some` when it completes a bundle (a level-0 tile's
    /// counterpart: store it at `tile.entries_path()`).
    pub fn push_entry(&mut self, entry: &[u8]) -> Result<Option<(Tile, Vec<u8>)>, EntryTooLong> {
        let len = u16::try_from(entry.len()).map_err(|_| EntryTooLong {
            index: self.index * TILE_WIDTH + u64::from(self.count),
            len: entry.len(),
        })?;
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf.extend_from_slice(entry);
        self.count += 1;
        if u64::from(self.count) < TILE_WIDTH {
            return Ok(None);
        }
        let tile = Tile {
            level: 0,
            index: self.index,
            width: self.count,
        };
        self.index += 1;
        self.count = 0;
        Ok(Some((tile, std::mem::take(&mut self.buf))))
    }

    /// The partial bundle, if any entries are pending.
    pub fn partial(&self) -> Option<(Tile, Vec<u8>)> {
        (self.count > 0).then(|| {
            (
                Tile {
                    level: 0,
                    index: self.index,
                    width: self.count,
                },
                self.buf.clone(),
            )
        })
    }
}

/// Read an entry bundle back into its entries; `None` if malformed.
pub fn decode_bundle(bytes: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let [a, b, tail @ ..] = rest else {
            return None;
        };
        let len = usize::from(u16::from_be_bytes([*a, *b]));
        out.push(tail.get(..len)?);
        rest = tail.get(len..)?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::merkle::leaf_hash;

    fn t(level: u8, index: u64, width: u16) -> Tile {
        Tile {
            level,
            index,
            width,
        }
    }

    #[test]
    fn index_encoding() {
        assert_eq!(encode_index(0), "000");
        assert_eq!(encode_index(5), "005");
        assert_eq!(encode_index(999), "999");
        assert_eq!(encode_index(1000), "x001/000");
        assert_eq!(encode_index(1234067), "x001/x234/067");
        assert_eq!(encode_index(u64::MAX), "x018/x446/x744/x073/x709/x551/615");
    }

    #[test]
    fn paths_match_the_spec_and_go() {
        // Go's Tile{H: 3, L: 4, N: 1234067, W: 1}.Path() is tile/3/4/x001/x234/067.p/1;
        // C2SP drops the height.
        assert_eq!(t(4, 1234067, 1).path(), "tile/4/x001/x234/067.p/1");
        assert_eq!(t(4, 1234067, 256).path(), "tile/4/x001/x234/067");
        assert_eq!(t(0, 0, 256).path(), "tile/0/000");
        assert_eq!(
            t(0, 1, 17).entries_path().as_deref(),
            Some("tile/entries/001.p/17")
        );
        assert_eq!(t(1, 1, 17).entries_path(), None);
        for (kind, tile) in [
            (TileKind::Hashes, t(4, 1234067, 1)),
            (TileKind::Hashes, t(63, u64::MAX, 255)),
            (TileKind::Hashes, t(0, 0, 256)),
            (TileKind::Entries, t(0, 1000, 256)),
        ] {
            let p = match kind {
                TileKind::Hashes => tile.path(),
                TileKind::Entries => tile.entries_path().unwrap_or_default(),
            };
            assert_eq!(parse_path(&p), Some((kind, tile)), "{p}");
        }
        for bad in [
            "tile/0/x000/001",
            "tile/00/001",
            "tile/64/001",
            "tile/0/1",
            "tile/0/0001",
            "tile/0/001.p/0",
            "tile/0/001.p/256",
            "tile/0/001.p/07",
            "tile/0/x001",
            "tile/0/001/002",
            "tile/data/001",
            "tile/0/x018/x446/x744/x073/x709/x551/616",
            "tile/-1/001",
            "tiles/0/001",
            "tile/0/",
        ] {
            assert_eq!(parse_path(bad), None, "{bad}");
        }
    }

    /// The spec's examples: size 70,000 and size 256.
    #[test]
    fn tiles_for_the_spec_examples() {
        let tiles = tiles_for_size(70_000);
        let count = |level: u8, full: bool| {
            tiles
                .iter()
                .filter(|x| x.level == level && x.is_full() == full)
                .count()
        };
        assert_eq!(count(0, true), 273);
        assert_eq!(count(1, true), 1);
        assert_eq!(count(2, true), 0);
        let partials: Vec<Tile> = tiles.iter().filter(|x| !x.is_full()).copied().collect();
        assert_eq!(partials, vec![t(0, 273, 112), t(1, 1, 17), t(2, 0, 1)]);
        assert_eq!(tiles.len(), 273 + 1 + 1 + 1 + 1);

        assert_eq!(tiles_for_size(256), vec![t(0, 0, 256), t(1, 0, 1)]);
        assert_eq!(tiles_for_size(1), vec![t(0, 0, 1)]);
        assert!(tiles_for_size(0).is_empty());
    }

    #[test]
    fn new_tiles_when_the_log_grows() {
        assert!(new_tiles(10, 10).is_empty());
        assert!(new_tiles(10, 9).is_empty());
        assert_eq!(new_tiles(10, 11), vec![t(0, 0, 11)]);
        assert_eq!(new_tiles(255, 256), vec![t(0, 0, 256), t(1, 0, 1)]);
        assert_eq!(new_tiles(256, 257), vec![t(0, 1, 1)]);
        assert_eq!(
            new_tiles(300, 600),
            vec![t(0, 1, 256), t(0, 2, 88), t(1, 0, 2)]
        );
        // Growing in steps yields every tile of the final size (plus superseded partials).
        let mut all = std::collections::BTreeSet::new();
        let mut prev = 0;
        for size in [1u64, 7, 255, 256, 511, 513, 70_000, 70_001] {
            all.extend(new_tiles(prev, size));
            prev = size;
        }
        for tile in tiles_for_size(70_001) {
            assert!(all.contains(&tile), "{tile:?}");
        }
    }

    #[test]
    fn streaming_tiles_match_in_memory_contents() {
        let n = 70_000u64;
        let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        let mut tb = TileBuilder::new();
        let mut written = std::collections::BTreeMap::new();
        for (i, l) in leaves.iter().enumerate() {
            for (tile, bytes) in tb.push_leaf_hash(*l) {
                written.insert(tile, bytes);
            }
            // Spot-check partial tiles at a few sizes.
            if [1usize, 255, 256, 257, 65_535, 65_536].contains(&(i + 1)) {
                let size = (i + 1) as u64;
                for (tile, bytes) in tb.partial_tiles() {
                    assert_eq!(
                        Some(bytes),
                        tile_bytes(&tile, &leaves[..=i]),
                        "{tile:?} @ {size}"
                    );
                }
            }
        }
        for (tile, bytes) in tb.partial_tiles() {
            written.insert(tile, bytes);
        }
        let expected = tiles_for_size(n);
        assert_eq!(written.keys().copied().collect::<Vec<_>>(), {
            let mut e = expected.clone();
            e.sort();
            e
        });
        for tile in &expected {
            let got = written.get(tile).cloned();
            assert_eq!(got, tile_bytes(tile, &leaves), "{tile:?}");
            assert_eq!(got.map(|b| b.len()), Some(usize::from(tile.width) * 32));
        }
        // The level-1 full tile's single level-2 parent is the root of the first 65,536.
        let l2 = written.get(&t(2, 0, 1)).cloned().unwrap_or_default();
        assert_eq!(l2, root_of(&leaves[..65_536]).to_vec());
        // Level-1 hash 5 is the root of level-0 tile 5.
        let l1 = written.get(&t(1, 0, 256)).cloned().unwrap_or_default();
        assert_eq!(
            &l1[5 * 32..6 * 32],
            root_of(&leaves[5 * 256..6 * 256]).as_slice()
        );
    }

    #[test]
    fn the_tree_root_follows_from_the_tiles() {
        // A client rebuilds the root from the partial tiles alone. 1000 leaves split as
        // 512 | 488, and 488 as 256 | 232: the first three hashes of the level-1 tile
        // and the 232 leaf hashes of the level-0 partial tile.
        use crate::domain::merkle::node_hash;
        let n = 1_000u64;
        let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut tb = TileBuilder::new();
        for l in &leaves {
            tb.push_leaf_hash(*l);
        }
        let partials = tb.partial_tiles();
        assert_eq!(
            partials.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
            vec![t(0, 3, 232), t(1, 0, 3)]
        );
        let hashes = |b: &[u8]| -> Vec<Hash> {
            b.chunks(32)
                .map(|c| c.try_into().unwrap_or([0; 32]))
                .collect()
        };
        let l0 = hashes(&partials[0].1);
        let l1 = hashes(&partials[1].1);
        let root = node_hash(
            &node_hash(&l1[0], &l1[1]),
            &node_hash(&l1[2], &root_of(&l0)),
        );
        assert_eq!(root, root_of(&leaves));
    }

    #[test]
    fn entry_bundles() {
        let mut bb = BundleBuilder::new();
        let entries: Vec<Vec<u8>> = (0..300u32)
            .map(|i| format!("{{\"n\":{i}}}").into_bytes())
            .collect();
        let mut full = Vec::new();
        for e in &entries {
            if let Ok(Some(b)) = bb.push_entry(e) {
                full.push(b);
            }
        }
        assert_eq!(full.len(), 1);
        assert_eq!(full[0].0, t(0, 0, 256));
        let decoded = decode_bundle(&full[0].1).unwrap_or_default();
        assert_eq!(decoded.len(), 256);
        assert_eq!(decoded[7], entries[7].as_slice());
        let (pt, pb) = bb.partial().unwrap_or((t(9, 9, 9), vec![]));
        assert_eq!(pt, t(0, 1, 44));
        assert_eq!(pt.entries_path().as_deref(), Some("tile/entries/001.p/44"));
        assert_eq!(decode_bundle(&pb).map(|v| v.len()), Some(44));
        // Entries hash to the level-0 tile's leaf hashes.
        let leaf0 = leaf_hash(decoded[0]);
        assert_eq!(leaf0, leaf_hash(&entries[0]));
        // Too long for a u16 length.
        let long = vec![b'a'; MAX_ENTRY_BYTES + 1];
        assert_eq!(
            bb.push_entry(&long),
            Err(EntryTooLong {
                index: 300,
                len: MAX_ENTRY_BYTES + 1
            })
        );
        assert!(bb.push_entry(&long[..MAX_ENTRY_BYTES]).is_ok());
        assert_eq!(decode_bundle(&[0, 5, b'a']), None);
        assert_eq!(decode_bundle(&[0]), None);
        assert_eq!(decode_bundle(&[]), Some(vec![]));
    }
}
