//! RFC 6962 / RFC 9162 Merkle trees: the hashes, the tree head, inclusion and
//! consistency proofs and their verification. The audit log's entries are the leaves;
//! a signed checkpoint commits to a tree head, an inclusion proof shows an entry is in
//! it, and a consistency proof shows a later tree only appended to an earlier one.
//!
//! Hashes (RFC 6962 §2.1): `leaf = SHA-256(0x00 ‖ entry)`, `node = SHA-256(0x01 ‖ left ‖
//! right)`, the empty tree's head is `SHA-256("")`; a tree of `n > 1` leaves splits at
//! the largest power of two smaller than `n`.

use aws_lc_rs::digest;

/// A SHA-256 value.
pub type Hash = [u8; 32];

fn sha256_parts(parts: &[&[u8]]) -> Hash {
    let mut context = digest::Context::new(&digest::SHA256);
    for part in parts {
        context.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

pub fn leaf_hash(entry: &[u8]) -> Hash {
    sha256_parts(&[&[0x00], entry])
}

pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    sha256_parts(&[&[0x01], left, right])
}

pub fn empty_root() -> Hash {
    sha256_parts(&[])
}

/// The largest power of two strictly smaller than `n` (for `n >= 2`).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// The tree head over `leaves` (leaf hashes), in O(n) time and O(log n) memory.
pub fn root(leaves: &[Hash]) -> Hash {
    let mut frontier = Frontier::default();
    for leaf in leaves {
        frontier.push(*leaf);
    }
    frontier.root()
}

/// The right edge of a growing tree: appending a leaf and reading the head are
/// O(log n), so a verifier can stream millions of entries.
#[derive(Clone, Debug, Default)]
pub struct Frontier {
    /// Perfect subtrees, largest first, as (height, hash).
    stack: Vec<(u32, Hash)>,
    size: u64,
}

impl Frontier {
    pub fn push(&mut self, leaf: Hash) {
        let mut current = (0u32, leaf);
        while let Some(&(height, hash)) = self.stack.last() {
            if height != current.0 {
                break;
            }
            self.stack.pop();
            current = (height + 1, node_hash(&hash, &current.1));
        }
        self.stack.push(current);
        self.size += 1;
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// A compact encoding (size, then each subtree's height and hash) for storing the
    /// frontier beside a checkpoint.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.stack.len() * 36);
        out.extend_from_slice(&self.size.to_be_bytes());
        for (height, hash) in &self.stack {
            out.extend_from_slice(&height.to_be_bytes());
            out.extend_from_slice(hash);
        }
        out
    }

    /// Decodes [`Frontier::to_bytes`]; `None` if the bytes are not a frontier whose
    /// subtrees add up to its size.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let (size, mut rest) = bytes.split_first_chunk::<8>()?;
        let size = u64::from_be_bytes(*size);
        let mut stack = Vec::new();
        let mut total: u64 = 0;
        while !rest.is_empty() {
            let (height, tail) = rest.split_first_chunk::<4>()?;
            let (hash, tail) = tail.split_first_chunk::<32>()?;
            let height = u32::from_be_bytes(*height);
            total = total.checked_add(1u64.checked_shl(height)?)?;
            stack.push((height, *hash));
            rest = tail;
        }
        (total == size).then_some(Self { stack, size })
    }

    /// The head of the tree so far: the perfect subtrees folded right to left.
    pub fn root(&self) -> Hash {
        let mut iter = self.stack.iter().rev();
        let Some(&(_, mut acc)) = iter.next() else {
            return empty_root();
        };
        for (_, hash) in iter {
            acc = node_hash(hash, &acc);
        }
        acc
    }
}

/// Every level of the tree over a set of leaves, for answering many inclusion proofs
/// in O(log n) each (an export proves thousands of entries against one head). Level
/// `k + 1` pairs the nodes of level `k`; an unpaired last node moves up unchanged, which
/// builds exactly RFC 6962's tree for any size.
#[derive(Clone, Debug)]
pub struct Levels {
    levels: Vec<Vec<Hash>>,
}

impl Levels {
    pub fn new(leaves: Vec<Hash>) -> Self {
        let mut levels = vec![leaves];
        while let Some(below) = levels.last().filter(|level| level.len() > 1) {
            let above = below
                .chunks(2)
                .map(|pair| match pair {
                    [left, right] => node_hash(left, right),
                    [single] => *single,
                    _ => empty_root(),
                })
                .collect();
            levels.push(above);
        }
        Self { levels }
    }

    pub fn size(&self) -> usize {
        self.levels.first().map_or(0, Vec::len)
    }

    pub fn root(&self) -> Hash {
        self.levels
            .last()
            .and_then(|top| top.first().copied())
            .unwrap_or_else(empty_root)
    }

    /// The audit path of leaf `index`, the same as [`inclusion_proof`].
    pub fn inclusion_proof(&self, mut index: usize) -> Vec<Hash> {
        let mut proof = Vec::new();
        for level in &self.levels {
            if level.len() <= 1 {
                break;
            }
            let sibling = index ^ 1;
            if let Some(hash) = level.get(sibling) {
                proof.push(*hash);
            }
            index /= 2;
        }
        proof
    }
}

/// The audit path of leaf `index` in the tree over `leaves` (RFC 6962 §2.1.1).
pub fn inclusion_proof(leaves: &[Hash], index: usize) -> Vec<Hash> {
    let mut proof = Vec::new();
    let (mut slice, mut index) = (leaves, index);
    let mut pending = Vec::new();
    while slice.len() > 1 {
        let k = split(slice.len());
        let (left, right) = slice.split_at(k);
        if index < k {
            pending.push(root(right));
            slice = left;
        } else {
            pending.push(root(left));
            slice = right;
            index -= k;
        }
    }
    // Collected root to leaf; the proof lists siblings leaf to root.
    while let Some(hash) = pending.pop() {
        proof.push(hash);
    }
    proof
}

/// Verifies that `leaf` is at `index` in a tree of `size` leaves with head `root`
/// (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && &r == root
}

/// The consistency proof between the first `old_size` leaves and all of `leaves`
/// (RFC 6962 §2.1.2).
pub fn consistency_proof(leaves: &[Hash], old_size: usize) -> Vec<Hash> {
    fn subproof(m: usize, leaves: &[Hash], complete: bool, out: &mut Vec<Hash>) {
        let n = leaves.len();
        if m == n {
            if !complete {
                out.push(root(leaves));
            }
            return;
        }
        let k = split(n);
        let (left, right) = leaves.split_at(k);
        if m <= k {
            subproof(m, left, complete, out);
            out.push(root(right));
        } else {
            subproof(m - k, right, false, out);
            out.push(root(left));
        }
    }
    let mut out = Vec::new();
    if old_size == 0 || old_size >= leaves.len() {
        return out;
    }
    subproof(old_size, leaves, true, &mut out);
    out
}

/// Verifies that the tree of `new_size` leaves with head `new_root` extends the tree of
/// `old_size` leaves with head `old_root` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old_size > new_size {
        return false;
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    if old_size == 0 {
        return proof.is_empty();
    }
    let mut proof: Vec<Hash> = proof.to_vec();
    if old_size.is_power_of_two() {
        proof.insert(0, *old_root);
    }
    let Some((first, rest)) = proof.split_first() else {
        return false;
    };
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && &fr == old_root && &sr == new_root
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition of RFC 6962 §2.1, recursively, as the reference.
    fn reference_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split(n);
                node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(format!("entry {i}").as_bytes()))
            .collect()
    }

    #[test]
    fn known_answers_from_rfc_6962_test_vectors() {
        // The empty tree and a one-leaf tree over the empty entry (certificate-transparency
        // reference vectors).
        assert_eq!(
            hex(&empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex(&leaf_hash(b"")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }

    fn hex(hash: &Hash) -> String {
        hash.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn roots_proofs_and_verification_agree_with_the_definition_for_every_small_tree() {
        for n in 0..=70 {
            let all = leaves(n);
            let head = root(&all);
            assert_eq!(head, reference_root(&all), "root of {n}");
            for index in 0..n {
                let proof = inclusion_proof(&all, index);
                assert!(
                    verify_inclusion(&all[index], index as u64, n as u64, &proof, &head),
                    "inclusion {index}/{n}"
                );
                let other = leaf_hash(b"not in the tree");
                assert!(!verify_inclusion(
                    &other,
                    index as u64,
                    n as u64,
                    &proof,
                    &head
                ));
                if n > 1 {
                    let wrong_index = (index + 1) % n;
                    assert!(
                        !verify_inclusion(&all[index], wrong_index as u64, n as u64, &proof, &head)
                            || all[index] == all[wrong_index]
                    );
                }
            }
            for old in 1..=n {
                let old_root = root(&all[..old]);
                let proof = consistency_proof(&all, old);
                assert!(
                    verify_consistency(old as u64, n as u64, &old_root, &head, &proof),
                    "consistency {old}->{n}"
                );
                if old < n {
                    let mut forged = all[..old].to_vec();
                    forged[0] = leaf_hash(b"rewritten history");
                    assert!(
                        !verify_consistency(old as u64, n as u64, &root(&forged), &head, &proof),
                        "forged {old}->{n}"
                    );
                }
            }
        }
    }

    #[test]
    fn levels_answer_the_same_roots_and_proofs_as_the_definition() {
        for n in 0..=40 {
            let all = leaves(n);
            let levels = Levels::new(all.clone());
            assert_eq!(levels.root(), reference_root(&all), "size {n}");
            for index in 0..n {
                assert_eq!(
                    levels.inclusion_proof(index),
                    inclusion_proof(&all, index),
                    "size {n} index {index}"
                );
            }
        }
    }

    #[test]
    fn a_frontier_survives_encoding_and_refuses_inconsistent_bytes() {
        let mut frontier = Frontier::default();
        for leaf in leaves(37) {
            frontier.push(leaf);
        }
        let bytes = frontier.to_bytes();
        let decoded = Frontier::from_bytes(&bytes).unwrap();
        assert_eq!(decoded.size(), 37);
        assert_eq!(decoded.root(), frontier.root());
        let mut wrong_size = bytes.clone();
        wrong_size[7] = 36;
        assert!(Frontier::from_bytes(&wrong_size).is_none());
        assert!(Frontier::from_bytes(&bytes[..bytes.len() - 1]).is_none());
    }

    #[test]
    fn the_frontier_matches_the_batch_root_at_every_size() {
        let all = leaves(100);
        let mut frontier = Frontier::default();
        for (i, leaf) in all.iter().enumerate() {
            frontier.push(*leaf);
            assert_eq!(frontier.root(), root(&all[..=i]));
            assert_eq!(frontier.size(), i as u64 + 1);
        }
    }
}
