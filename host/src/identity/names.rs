//! Matching Vietnamese names (`identity.md`, "Matching names").
//!
//! Two spellings of a name are compared at four levels, strongest first:
//!
//! 1. [`NameMatch::Exact`]: equal after [`canonical`] (NFC, one tone-mark style,
//!    white space collapsed), ignoring case;
//! 2. [`NameMatch::Folded`]: equal after [`fold`] to upper-case ASCII, as banks
//!    hold names. Weak evidence: folding merges different names (Hùng, Hưng,
//!    Hửng all become HUNG);
//! 3. [`NameMatch::Near`]: after folding, the same number of words and exactly one
//!    word differing by exactly one edit (a character inserted, deleted or
//!    replaced). For manual review, never for automatic payment;
//! 4. [`NameMatch::Mismatch`]: anything else.
//!
//! Word order is surname, middle names, given name and is never changed: the
//! same words in another order are a mismatch.
//!
//! Decisions of this matcher (its version is [`MATCHER_VERSION`]):
//!
//! - **Tone marks**: old style, the mark on the first vowel of a syllable-final
//!   `oa`, `oe`, `uy` (hòa, khỏe, thúy), which is how `identity.md` spells Hòa
//!   Bình, Thanh Hóa and Khánh Hòa. New style (hoà, khoẻ, thuý) is rewritten to
//!   it. Syllables that go on after the pair (hoàn, khoảng, thuyền) and `qu`+`y`
//!   (quý, where `u` belongs to the consonant) are spelled alike in both styles
//!   and left alone.
//! - **Case**: [`canonical`] keeps the letters' case, since it is what gets
//!   stored and shown; [`compare`] ignores case, since Vietnamese names carry no
//!   meaning in it (registries write NGUYỄN, enrolments Nguyễn).
//! - **Look-alike Ð** (U+00D0, Icelandic eth) is not Đ (U+0110): [`fold`] leaves it
//!   as it is, so it never turns silently into D. A name with Ð where the registry
//!   has Đ differs by one character: [`NameMatch::Near`], a person looks at it.
//!   Ð typically comes from a Windows-1258 file read as Latin-1, where the byte
//!   for Đ is Ð.
//! - A name that is empty, or has no letters left after folding, matches nothing.

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// Version of the matching rules, stored with each decision: a change to
/// [`canonical`], [`fold`] or [`compare`] that can change a result bumps it.
pub const MATCHER_VERSION: &str = "names-1";

/// How closely two spellings of a name agree, strongest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NameMatch {
    /// Equal in NFC with canonical tone marks, ignoring case.
    Exact,
    /// Equal after folding to upper-case ASCII: weak evidence.
    Folded,
    /// One edit in one word after folding: manual review.
    Near,
    Mismatch,
}

/// Tone marks (grave, acute, tilde, hook above, dot below) as NFD writes them.
const TONE_MARKS: [char; 5] = ['\u{0300}', '\u{0301}', '\u{0303}', '\u{0309}', '\u{0323}'];

/// Vowel pairs whose tone mark sits on either vowel depending on the style.
const MOVABLE_PAIRS: [(char, char); 3] = [('o', 'a'), ('o', 'e'), ('u', 'y')];

/// The form a name is stored and compared in: NFC, old-style tone marks on
/// `oa`/`oe`/`uy`, words separated by single spaces, case kept.
pub fn canonical(name: &str) -> String {
    let words: Vec<String> = name.split_whitespace().map(canonical_word).collect();
    words.join(" ")
}

/// A name as banks hold it: marks dropped, đ/Đ made D by hand (NFD leaves them
/// alone), upper case, words separated by single spaces. Ð (U+00D0) stays Ð.
pub fn fold(name: &str) -> String {
    // ASCII has nothing to decompose, no mark to drop and no đ: only its case
    // to raise (banks' names, most of them).
    let upper = if name.is_ascii() { name.to_ascii_uppercase() } else { fold_letters(name) };
    let words: Vec<&str> = upper.split_whitespace().collect();
    words.join(" ")
}

/// [`fold`]'s letters, any text: decomposed, marks dropped, đ made d, upper case.
fn fold_letters(name: &str) -> String {
    let stripped: String = name.nfd().filter(|c| !is_combining_mark(*c)).map(fold_d).collect();
    stripped.to_uppercase()
}

/// Compares the registry's spelling of a name with another one (enrolment,
/// bank account). See the module documentation for the levels.
///
/// Every person's names are compared in every evaluation, two a person: a
/// tenth of a run's CPU went to it (`perf`, bench/README.md), so the spellings
/// that are the same bytes (most enrolments' against the registry's) skip the
/// canonical forms they would have in common anyway.
pub fn compare(registry: &str, other: &str) -> NameMatch {
    if registry == other {
        return if has_letters(&fold(registry)) { NameMatch::Exact } else { NameMatch::Mismatch };
    }
    let (folded_registry, folded_other) = (fold(registry), fold(other));
    if !has_letters(&folded_registry) || !has_letters(&folded_other) {
        return NameMatch::Mismatch;
    }
    if canonical(registry).to_lowercase() == canonical(other).to_lowercase() {
        NameMatch::Exact
    } else if folded_registry == folded_other {
        NameMatch::Folded
    } else if one_word_one_edit(&folded_registry, &folded_other) {
        NameMatch::Near
    } else {
        NameMatch::Mismatch
    }
}

/// A character together with the combining marks that follow it in NFD.
struct Cluster {
    base: char,
    marks: Vec<char>,
}

/// One white-space-free word in canonical form.
fn canonical_word(word: &str) -> String {
    // ASCII is its own NFD and NFC, and carries no tone mark to move.
    if word.is_ascii() {
        return word.to_owned();
    }
    canonical_marks(word)
}

/// [`canonical_word`] of any word: its tone marks placed, then NFC.
fn canonical_marks(word: &str) -> String {
    let mut clusters = clusters(word);
    // A word may hold several syllables (Rịa-Vũng): each run of letters is one.
    let mut start = 0;
    while start < clusters.len() {
        let end = (start..clusters.len()).find(|&i| !clusters[i].base.is_alphabetic()).unwrap_or(clusters.len());
        place_tone_mark(&mut clusters[start..end]);
        start = end + 1;
    }
    let nfd: String = clusters.iter().flat_map(|c| std::iter::once(c.base).chain(c.marks.iter().copied())).collect();
    nfd.nfc().collect()
}

/// Splits a string, decomposed, into base characters and their marks. Marks
/// with nothing before them become clusters of their own.
fn clusters(s: &str) -> Vec<Cluster> {
    let mut out: Vec<Cluster> = Vec::new();
    for c in s.nfd() {
        match out.last_mut() {
            Some(last) if is_combining_mark(c) => last.marks.push(c),
            _ => out.push(Cluster { base: c, marks: Vec::new() }),
        }
    }
    out
}

/// Moves a tone mark from the second to the first vowel of a syllable-final
/// `oa`, `oe` or `uy` (hoà → hòa). Only plain vowels qualify: a pair carrying a
/// circumflex, breve or horn is not one of these pairs.
fn place_tone_mark(syllable: &mut [Cluster]) {
    let n = syllable.len();
    if n < 2 {
        return;
    }
    let (first, second) = (&syllable[n - 2], &syllable[n - 1]);
    let pair = (lower(first.base), lower(second.base));
    if !MOVABLE_PAIRS.contains(&pair) || !first.marks.is_empty() {
        return;
    }
    if !matches!(second.marks.as_slice(), [mark] if TONE_MARKS.contains(mark)) {
        return;
    }
    // In quý the u belongs to the consonant qu: the mark stays on y.
    if pair == ('u', 'y') && n >= 3 && lower(syllable[n - 3].base) == 'q' {
        return;
    }
    let mark = syllable[n - 1].marks.pop();
    syllable[n - 2].marks.extend(mark);
}

/// Exactly one word differs, by exactly one edit; the word counts are equal.
fn one_word_one_edit(a: &str, b: &str) -> bool {
    let (words_a, words_b): (Vec<&str>, Vec<&str>) = (a.split(' ').collect(), b.split(' ').collect());
    if words_a.len() != words_b.len() {
        return false;
    }
    let mut differing = words_a.iter().zip(&words_b).filter(|(x, y)| x != y);
    match (differing.next(), differing.next()) {
        (Some((x, y)), None) => one_edit(x, y),
        _ => false,
    }
}

/// Whether `a` becomes `b` by exactly one insertion, deletion or substitution
/// of a character.
fn one_edit(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    match long.len() - short.len() {
        0 => short.iter().zip(&long).filter(|(x, y)| x != y).count() == 1,
        1 => {
            let prefix = short.iter().zip(&long).take_while(|(x, y)| x == y).count();
            short[prefix..] == long[prefix + 1..]
        }
        _ => false,
    }
}

/// Combining diacritical marks, the block `identity.md` says to drop in folding.
fn is_combining_mark(c: char) -> bool {
    ('\u{0300}'..='\u{036F}').contains(&c)
}

/// đ and Đ have no decomposition, so NFD keeps them: fold them by hand. The
/// look-alike Ð (U+00D0) is deliberately not here.
fn fold_d(c: char) -> char {
    match c {
        'đ' => 'd',
        'Đ' => 'D',
        c => c,
    }
}

fn lower(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

fn has_letters(s: &str) -> bool {
    s.chars().any(char::is_alphabetic)
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_normalization::is_nfc;

    fn nfd(s: &str) -> String {
        s.nfd().collect()
    }

    #[test]
    fn ascii_takes_a_short_cut_to_the_same_forms() {
        // Every ASCII character alone, and names as banks and clerks type them: the
        // short cuts of `canonical_word` and `fold` give what the general path gives.
        let mut samples: Vec<String> = (0u8..128).map(|b| char::from(b).to_string()).collect();
        samples.extend(
            ["NGUYEN VAN AN", "Hoa  Binh\tKhoe", "quy THUY x", "a-b c\u{b}d\u{c}e\r", "Dd dD 9", "  ", ""]
                .map(String::from),
        );
        for sample in &samples {
            for word in sample.split_whitespace() {
                assert_eq!(canonical_word(word), canonical_marks(word), "{word:?}");
            }
            assert_eq!(sample.to_ascii_uppercase(), fold_letters(sample), "{sample:?}");
        }
    }

    #[test]
    fn canonical_is_nfc_whatever_the_input() {
        // identity.md: input may be NFC or NFD; store and compare in NFC.
        let name = "Nguyễn Thị Thu Hiền";
        assert_ne!(nfd(name), name, "the test needs a really decomposed input");
        assert_eq!(canonical(&nfd(name)), name);
        assert!(is_nfc(&canonical(&nfd(name))));
        assert_eq!(compare(name, &nfd(name)), NameMatch::Exact);
    }

    #[test]
    fn canonical_moves_new_style_tone_marks_to_the_old_style() {
        // identity.md: hòa/thúy/khỏe and hoà/thuý/khoẻ differ even in NFC;
        // canonicalise one to the other. This matcher keeps the old style.
        for (new, old) in [("hoà", "hòa"), ("thuý", "thúy"), ("khoẻ", "khỏe"), ("HOÀ", "HÒA"), ("Thuỵ", "Thụy")]
        {
            assert_ne!(new, old);
            assert_eq!(canonical(new), old, "{new}");
            assert_eq!(canonical(old), old, "{old} is already canonical");
            assert_eq!(canonical(&nfd(new)), old, "{new} in NFD");
        }
        assert_eq!(compare("Lê Thị Hòa", "Lê Thị Hoà"), NameMatch::Exact);
        assert_eq!(compare("Trần Thúy", "TRẦN THUÝ"), NameMatch::Exact);
    }

    #[test]
    fn canonical_leaves_syllables_both_styles_spell_alike() {
        // The mark sits on the second vowel in both styles when the syllable
        // goes on (hoàn, khoảng, thuyền) and in qu+y (quý, quỳnh).
        for word in ["hoàn", "khoảng", "thuyền", "quý", "Quỳnh", "hoài", "Thủy", "toán", "Hòa-Bình"] {
            assert_eq!(canonical(word), word, "{word}");
        }
    }

    #[test]
    fn canonical_handles_each_syllable_of_a_hyphenated_word() {
        assert_eq!(canonical("Hoà-Thuý"), "Hòa-Thúy");
    }

    #[test]
    fn canonical_collapses_white_space_and_keeps_case() {
        assert_eq!(canonical("  NGUYỄN \t Thị\u{00A0}thu   hiền \n"), "NGUYỄN Thị thu hiền");
        assert_eq!(canonical(""), "");
        assert_eq!(canonical("   "), "");
    }

    #[test]
    fn canonical_is_idempotent() {
        for name in ["Nguyễn Thị Thu Hiền", "Lê Hoà", "Phạm Quý Khoẻ", "Ðỗ Đức"] {
            let once = canonical(name);
            assert_eq!(canonical(&once), once, "{name}");
        }
    }

    #[test]
    fn fold_gives_the_bank_spelling() {
        // identity.md: NFD, drop U+0300-U+036F, đ→d and Đ→D by hand, upper-case,
        // collapse white space.
        assert_eq!(fold("Nguyễn Thị Thu Hiền"), "NGUYEN THI THU HIEN");
        assert_eq!(fold(&nfd("Đặng  Văn đức")), "DANG VAN DUC");
        assert_eq!(fold("Hoàng Thị Khoẻ"), "HOANG THI KHOE");
        assert_eq!(fold("Trương Thị Ư"), "TRUONG THI U");
    }

    #[test]
    fn fold_does_not_turn_the_look_alike_eth_into_d() {
        // identity.md: look-alike Ð (U+00D0) is not Đ (U+0110).
        assert_eq!(fold("\u{00D0}ỗ"), "\u{00D0}O");
        assert_eq!(fold("\u{00F0}ỗ"), "\u{00D0}O", "lower-case eth upper-cases to Ð, still not D");
        assert_ne!(fold("\u{00D0}ỗ Văn An"), fold("\u{0110}ỗ Văn An"));
    }

    #[test]
    fn look_alike_eth_is_never_better_than_near() {
        // One look-alike letter is one substitution: a person reviews it.
        assert_eq!(compare("Đỗ Văn An", "\u{00D0}ỗ Văn An"), NameMatch::Near);
        assert_eq!(compare("ĐỖ VĂN AN", "\u{00D0}O VAN AN"), NameMatch::Near);
        // Two of them are two edits.
        assert_eq!(compare("Đỗ Văn Đức", "\u{00D0}ỗ Văn \u{00D0}ức"), NameMatch::Mismatch);
    }

    #[test]
    fn exact_ignores_case() {
        assert_eq!(compare("NGUYỄN THỊ THU HIỀN", "Nguyễn Thị Thu Hiền"), NameMatch::Exact);
        assert_eq!(compare("Nguyễn Thị Thu Hiền", " Nguyễn  Thị Thu Hiền "), NameMatch::Exact);
    }

    #[test]
    fn ascii_bank_names_match_folded() {
        // identity.md: banks hold the account name in upper-case ASCII.
        assert_eq!(compare("Nguyễn Thị Thu Hiền", "NGUYEN THI THU HIEN"), NameMatch::Folded);
        assert_eq!(compare("NGUYỄN THỊ THU HIỀN", "nguyen thi thu hien"), NameMatch::Folded);
        assert_eq!(compare("Đinh Văn Đạt", "DINH VAN DAT"), NameMatch::Folded);
    }

    #[test]
    fn different_names_can_fold_alike_which_is_why_folded_is_weak() {
        // identity.md: Hùng, Hưng, Hửng → HUNG.
        assert_eq!(fold("Hùng"), "HUNG");
        assert_eq!(fold("Hưng"), "HUNG");
        assert_eq!(compare("Trần Văn Hùng", "Trần Văn Hưng"), NameMatch::Folded);
        assert_eq!(compare("Trần Văn Hùng", "Trần Văn Hửng"), NameMatch::Folded);
    }

    #[test]
    fn one_letter_typo_in_one_word_is_near() {
        // identity.md: one edit on one word goes to manual review.
        assert_eq!(compare("Nguyễn Thị Thu Hiền", "NGUYEN THI THU HIEM"), NameMatch::Near, "substitution");
        assert_eq!(compare("Nguyễn Thị Thu Hiền", "NGUYEN THI THU HIENN"), NameMatch::Near, "insertion");
        assert_eq!(compare("Nguyễn Thị Thu Hiền", "NGUYN THI THU HIEN"), NameMatch::Near, "deletion");
        assert_eq!(compare("Lê Văn An", "Lê Văn Anh"), NameMatch::Near, "insertion at the end");
    }

    #[test]
    fn two_edits_are_a_mismatch() {
        assert_eq!(compare("Nguyễn Thị Thu Hiền", "NGUYEN THI THU HIEMM"), NameMatch::Mismatch, "two in one word");
        assert_eq!(compare("Nguyễn Thị Thu Hiền", "NGUYEN THI THO HIEM"), NameMatch::Mismatch, "one in each of two");
        assert_eq!(compare("Nguyễn Thị Thu Hiền", "NGUYEN THI THU HEIN"), NameMatch::Mismatch, "a swap is two edits");
    }

    #[test]
    fn word_order_and_word_count_matter() {
        // identity.md: surname, middle names, given name: never reorder.
        assert_eq!(compare("Nguyễn Thị Thu Hiền", "Thu Hiền Nguyễn Thị"), NameMatch::Mismatch);
        assert_eq!(compare("Nguyễn Văn An", "An Nguyễn Văn"), NameMatch::Mismatch);
        assert_eq!(compare("Nguyễn Thị Thu Hiền", "Nguyễn Thu Hiền"), NameMatch::Mismatch, "a word left out");
        assert_eq!(compare("Nguyễn Thị Thu Hiền", "NguyễnThị Thu Hiền"), NameMatch::Mismatch, "words run together");
    }

    #[test]
    fn empty_names_match_nothing() {
        assert_eq!(compare("", ""), NameMatch::Mismatch);
        assert_eq!(compare("Lê Văn An", "  "), NameMatch::Mismatch);
        assert_eq!(compare("  ", "Lê Văn An"), NameMatch::Mismatch);
        assert_eq!(compare("\u{0301}", "\u{0301}"), NameMatch::Mismatch, "marks alone are no name");
    }

    #[test]
    fn one_edit_counts_characters_not_bytes() {
        assert!(one_edit("ÐUC", "DUC"));
        assert!(one_edit("AN", "ANH"));
        assert!(one_edit("ANH", "AN"));
        assert!(!one_edit("AN", "AN"));
        assert!(!one_edit("AN", "ANHH"));
        assert!(!one_edit("AB", "BA"));
    }

    #[test]
    fn match_levels_serialise_in_snake_case() {
        let json = serde_json::to_string(&[NameMatch::Exact, NameMatch::Folded, NameMatch::Near, NameMatch::Mismatch]);
        assert_eq!(json.unwrap(), r#"["exact","folded","near","mismatch"]"#);
    }
}
