//! How many SMS segments a text takes: GSM-7 (3GPP TS 23.038, the basic character set and its
//! extension table, whose characters take two septets) when every character is in it, else UCS-2
//! (UTF-16 code units). One segment holds 160 septets or 70 units; a longer text is split into
//! segments of 153 septets or 67 units (the rest is the concatenation header), and an escaped
//! character or a surrogate pair is never split across two.

/// The encoding a text is sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// The GSM 7-bit default alphabet.
    Gsm7,
    /// UCS-2 (UTF-16), for any other character.
    Ucs2,
}

impl Encoding {
    /// The log name.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Gsm7 => "gsm7",
            Encoding::Ucs2 => "ucs2",
        }
    }
}

/// A text's size on the air.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segments {
    /// The encoding.
    pub encoding: Encoding,
    /// Septets (GSM-7) or UTF-16 code units (UCS-2).
    pub units: usize,
    /// Segments (0 for an empty text).
    pub count: usize,
}

/// The GSM-7 basic character set (escape excepted), in code order.
const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// The GSM-7 extension table: each is the escape septet and one more.
const EXTENSION: &str = "\u{c}^{}\\[~]|€";

/// Septets of `c` in GSM-7, or `None` when it has none.
fn septets(c: char) -> Option<usize> {
    if BASIC.contains(c) {
        Some(1)
    } else if EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// Packs characters of `widths` into segments of `single` units when all fit in one, else of
/// `multi` units, never splitting a character.
fn pack(widths: &[usize], single: usize, multi: usize) -> (usize, usize) {
    let units: usize = widths.iter().sum();
    if units == 0 {
        return (0, 0);
    }
    if units <= single {
        return (units, 1);
    }
    let (mut count, mut used) = (1, 0);
    for w in widths {
        if used + w > multi {
            count += 1;
            used = 0;
        }
        used += w;
    }
    (units, count)
}

/// Counts the segments of `text`.
pub fn count(text: &str) -> Segments {
    let gsm: Option<Vec<usize>> = text.chars().map(septets).collect();
    match gsm {
        Some(widths) => {
            let (units, count) = pack(&widths, 160, 153);
            Segments {
                encoding: Encoding::Gsm7,
                units,
                count,
            }
        }
        None => {
            let widths: Vec<usize> = text.chars().map(char::len_utf16).collect();
            let (units, count) = pack(&widths, 70, 67);
            Segments {
                encoding: Encoding::Ucs2,
                units,
                count,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(text: &str) -> (Encoding, usize, usize) {
        let s = count(text);
        (s.encoding, s.units, s.count)
    }

    #[test]
    fn the_tables_have_their_sizes() {
        assert_eq!(BASIC.chars().count(), 127, "128 codes less the escape");
        assert_eq!(EXTENSION.chars().count(), 10);
    }

    #[test]
    fn gsm7_fills_160_then_153() {
        assert_eq!(seg(""), (Encoding::Gsm7, 0, 0));
        assert_eq!(seg(&"a".repeat(160)), (Encoding::Gsm7, 160, 1));
        assert_eq!(seg(&"a".repeat(161)), (Encoding::Gsm7, 161, 2));
        assert_eq!(seg(&"a".repeat(306)), (Encoding::Gsm7, 306, 2));
        assert_eq!(seg(&"a".repeat(307)), (Encoding::Gsm7, 307, 3));
        // Accents of the basic set stay GSM-7: é, ü, à, Ñ.
        assert_eq!(seg("Gültig: é à Ñ"), (Encoding::Gsm7, 13, 1));
    }

    #[test]
    fn the_extension_table_takes_two_septets_and_is_never_split() {
        assert_eq!(seg("€"), (Encoding::Gsm7, 2, 1));
        assert_eq!(seg(&"€".repeat(80)), (Encoding::Gsm7, 160, 1));
        assert_eq!(seg(&"€".repeat(81)), (Encoding::Gsm7, 162, 2));
        // 152 septets, then an escaped character: it moves whole to the second segment.
        let text = format!("{}{{{}", "a".repeat(152), "a".repeat(10));
        assert_eq!(seg(&text), (Encoding::Gsm7, 164, 2));
        // 306 septets would fill two segments of 153; the escape moved whole makes it three.
        let text = format!("{}[{}", "a".repeat(152), "a".repeat(152));
        assert_eq!(seg(&text), (Encoding::Gsm7, 306, 3));
    }

    #[test]
    fn any_other_character_makes_the_text_ucs2_70_then_67() {
        assert_eq!(seg("ç"), (Encoding::Ucs2, 1, 1), "ç is not GSM-7 (Ç is)");
        assert_eq!(seg(&"ê".repeat(70)), (Encoding::Ucs2, 70, 1));
        assert_eq!(seg(&"ê".repeat(71)), (Encoding::Ucs2, 71, 2));
        assert_eq!(seg(&"ê".repeat(134)), (Encoding::Ucs2, 134, 2));
        assert_eq!(seg(&"ê".repeat(135)), (Encoding::Ucs2, 135, 3));
        // An emoji is a surrogate pair: two units, never split.
        assert_eq!(seg("🙂"), (Encoding::Ucs2, 2, 1));
        let text = format!("{}🙂", "ê".repeat(66));
        assert_eq!(
            seg(&format!("{text}{}", "ê".repeat(10))),
            (Encoding::Ucs2, 78, 2)
        );
    }
}
