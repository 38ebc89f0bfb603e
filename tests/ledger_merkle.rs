//! RFC 6962 Merkle tree: the published Certificate Transparency test vectors
//! (transparency-dev/merkle `testonly`, certificate-transparency-go), plus an
//! independent, deliberately naive reference implementation written here from the
//! RFC's recursive definitions, checked against the streaming code for many sizes.

use lumen::domain::merkle::{
    Hash, PathBuilder, RootBuilder, audit_path, empty_root, leaf_hash, root_of, verify_inclusion,
};
use sha2::{Digest, Sha256};

const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];
const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn data() -> Vec<Vec<u8>> {
    LEAVES
        .iter()
        .map(|h| hex::decode(h).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

// ---- independent reference: RFC 6962 §2.1 recursion, straight from the text ----

fn ref_mth(d: &[Vec<u8>]) -> Vec<u8> {
    match d.len() {
        0 => Sha256::digest(b"").to_vec(),
        1 => {
            let mut v = vec![0u8];
            v.extend_from_slice(&d[0]);
            Sha256::digest(&v).to_vec()
        }
        n => {
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            let mut v = vec![1u8];
            v.extend(ref_mth(&d[..k]));
            v.extend(ref_mth(&d[k..]));
            Sha256::digest(&v).to_vec()
        }
    }
}

fn ref_path(m: usize, d: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let n = d.len();
    if n <= 1 {
        return vec![];
    }
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    if m < k {
        let mut p = ref_path(m, &d[..k]);
        p.push(ref_mth(&d[k..]));
        p
    } else {
        let mut p = ref_path(m - k, &d[k..]);
        p.push(ref_mth(&d[..k]));
        p
    }
}

#[test]
fn published_roots_for_sizes_0_to_8() {
    let d = data();
    assert_eq!(hex::encode(empty_root()), ROOTS[0]);
    for n in 0..=8 {
        let mut b = RootBuilder::new();
        for leaf in &d[..n] {
            b.push_data(leaf);
        }
        assert_eq!(hex::encode(b.root()), ROOTS[n], "size {n}");
        assert_eq!(
            hex::encode(ref_mth(&d[..n])),
            ROOTS[n],
            "reference, size {n}"
        );
    }
}

#[test]
fn published_inclusion_proofs() {
    let d = data();
    let leaves: Vec<Hash> = d.iter().map(|l| leaf_hash(l)).collect();
    let root = root_of(&leaves);
    let cases: [(u64, [&str; 3]); 2] = [
        (
            0,
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            [
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];
    for (index, want) in cases {
        let got: Vec<String> = audit_path(&leaves, index).iter().map(hex::encode).collect();
        assert_eq!(got, want, "index {index}");
        let path = audit_path(&leaves, index);
        assert!(verify_inclusion(
            &leaves[index as usize],
            index,
            8,
            &path,
            &root
        ));
    }
}

#[test]
fn streaming_code_agrees_with_reference_and_rejects_tampering() {
    let d: Vec<Vec<u8>> = (0u32..70)
        .map(|i| format!("line-{i}").into_bytes())
        .collect();
    let leaves: Vec<Hash> = d.iter().map(|l| leaf_hash(l)).collect();
    for n in 1..=d.len() {
        let root = root_of(&leaves[..n]);
        assert_eq!(root.to_vec(), ref_mth(&d[..n]), "root n={n}");
        for m in 0..n {
            let mut pb = PathBuilder::new(m as u64, n as u64);
            for l in &leaves[..n] {
                pb.push_leaf_hash(*l);
            }
            let path = pb.finish();
            let want = ref_path(m, &d[..n]);
            assert_eq!(
                path.iter().map(|h| h.to_vec()).collect::<Vec<_>>(),
                want,
                "n={n} m={m}"
            );
            assert!(verify_inclusion(
                &leaves[m], m as u64, n as u64, &path, &root
            ));
            // Wrong index, wrong size, flipped path byte, wrong leaf: all refused.
            if n > 1 {
                let other = (m + 1) % n;
                assert!(!verify_inclusion(
                    &leaves[m],
                    other as u64,
                    n as u64,
                    &path,
                    &root
                ));
                let mut bad = path.clone();
                bad[0][0] ^= 1;
                assert!(!verify_inclusion(
                    &leaves[m], m as u64, n as u64, &bad, &root
                ));
                assert!(!verify_inclusion(
                    &leaves[other],
                    m as u64,
                    n as u64,
                    &path,
                    &root
                ));
            }
            // An index outside the tree is refused outright.
            assert!(!verify_inclusion(
                &leaves[m], n as u64, n as u64, &path, &root
            ));
        }
    }
}
