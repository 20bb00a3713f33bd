//! Plug-in inputs stored compactly: each packed by zstd against its run's
//! reference input ([`ansinh_sandbox::Plugin::reference_input`], kept once in
//! `decision_texts`) as the dictionary.
//!
//! An input is about 260 bytes of canonical JSON whose keys, and most of whose
//! values, are the reference's: packed, it is a few dozen bytes. Unpacking
//! gives back the exact bytes the plug-in was given, and a decision's digest
//! is made of those bytes, so `audit verify` checks the packing too.
//!
//! The reference a decision was packed against is stored with it (by id), so
//! a later release that makes other references still reads every input.

use std::collections::HashMap;

use anyhow::Context;

/// zstd's level: small inputs against a dictionary pack about as well at 3
/// as at 19, and ten times faster.
const LEVEL: i32 = 3;

/// The most an input may unpack to: far above any real input (the sandbox
/// caps what it gives a plug-in well below), so that a damaged row cannot ask
/// for gigabytes.
const LARGEST: usize = 1 << 20;

/// Packs inputs against one reference; one per thread (zstd's context is not shared).
pub struct Packer {
    compressor: zstd::bulk::Compressor<'static>,
}

impl Packer {
    pub fn new(reference: &str) -> Packer {
        let compressor = zstd::bulk::Compressor::with_dictionary(LEVEL, reference.as_bytes())
            .expect("zstd accepts any bytes as a raw dictionary");
        Packer { compressor }
    }

    pub fn pack(&mut self, input: &str) -> Vec<u8> {
        self.compressor.compress(input.as_bytes()).expect("zstd compresses any bytes into a growable buffer")
    }
}

/// Unpacks inputs, keeping one decompressor per reference it has met.
#[derive(Default)]
pub struct Unpacker {
    by_reference: HashMap<String, zstd::bulk::Decompressor<'static>>,
}

impl Unpacker {
    /// The input `packed` against `reference`, byte for byte.
    pub fn unpack(&mut self, reference: &str, packed: &[u8]) -> anyhow::Result<String> {
        if !self.by_reference.contains_key(reference) {
            let decompressor = zstd::bulk::Decompressor::with_dictionary(reference.as_bytes())
                .context("zstd refused a reference input as its dictionary")?;
            self.by_reference.insert(reference.to_owned(), decompressor);
        }
        let decompressor = self.by_reference.get_mut(reference).expect("inserted above");
        let size = zstd::zstd_safe::get_frame_content_size(packed)
            .ok()
            .flatten()
            .context("not a zstd frame that tells its size")?;
        let size = usize::try_from(size).ok().filter(|s| *s <= LARGEST).with_context(|| {
            format!("it claims to unpack to {size} bytes, more than the {LARGEST} an input may take")
        })?;
        let bytes = decompressor.decompress(packed, size).context("zstd could not unpack it")?;
        String::from_utf8(bytes).context("it unpacks to bytes that are not UTF-8")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REFERENCE: &str = r#"{"period":"2026-12","program":"social-assistance","province":"001","verified":true,"person":{"birth_date":"1950-01-01","sex":"female","death_date":null,"household":"none","disability":"none","has_pension":false,"statuses":[]}}"#;

    #[test]
    fn an_input_unpacks_to_its_exact_bytes_and_packs_small() {
        let input = r#"{"period":"2026-12","program":"social-assistance","province":"001","verified":true,"person":{"birth_date":"1938-07-23","sex":"male","death_date":null,"household":"near_poor","disability":"severe","has_pension":false,"statuses":["no_supporter"]}}"#;
        let packed = Packer::new(REFERENCE).pack(input);
        assert!(packed.len() * 3 < input.len(), "{} bytes packed from {}", packed.len(), input.len());
        let mut unpacker = Unpacker::default();
        assert_eq!(unpacker.unpack(REFERENCE, &packed).unwrap(), input);
        // Not against another reference: what it takes from the reference is found by distance
        // from its end, which one more byte moves; the digest would tell the difference.
        let other = format!("{REFERENCE} ");
        assert_ne!(unpacker.unpack(&other, &packed).ok().as_deref(), Some(input));
    }

    #[test]
    fn text_that_shares_nothing_with_the_reference_still_round_trips() {
        let input = "{\"ngày\":\"đồng ₫\",\"x\":[".repeat(50);
        let packed = Packer::new(REFERENCE).pack(&input);
        assert_eq!(Unpacker::default().unpack(REFERENCE, &packed).unwrap(), input);
    }

    #[test]
    fn damaged_bytes_are_an_error_not_a_panic() {
        let mut packed = Packer::new(REFERENCE).pack(REFERENCE);
        let mut unpacker = Unpacker::default();
        assert!(unpacker.unpack(REFERENCE, &packed[..packed.len() / 2]).is_err());
        assert!(unpacker.unpack(REFERENCE, b"not zstd").is_err());
        packed.truncate(3);
        assert!(unpacker.unpack(REFERENCE, &packed).is_err());
    }
}
