//! Realistic-looking data: names from many languages (so unicode reaches
//! the pipeline), countries, product words, and the ASCII folding that turns
//! a name into an email local part.

pub const FIRST_NAMES: &[&str] = &[
    "Ana",
    "José",
    "Zoë",
    "Søren",
    "Łukasz",
    "Aiko",
    "Mehmet",
    "Chloé",
    "Björn",
    "Priya",
    "Nguyễn",
    "Olga",
    "Jürgen",
    "François",
    "Siobhán",
    "Ömer",
    "Ľubica",
    "Renée",
    "Kwame",
    "Liam",
    "Emma",
    "Noah",
    "Fatima",
    "Hiroshi",
    "Ingrid",
    "Mateo",
    "Amara",
    "Dmitri",
    "Élodie",
    "Tomás",
    "美咲",
    "Wei",
    "Saanvi",
    "Oluwaseun",
    "Ayşe",
    "Åsa",
];

pub const LAST_NAMES: &[&str] = &[
    "García",
    "Müller",
    "Nakamura",
    "Øvergaard",
    "Kowalski",
    "O'Brien",
    "Dubois",
    "Yılmaz",
    "Novák",
    "Silva",
    "Smith",
    "Ivanova",
    "Đorđević",
    "Haddad",
    "Åberg",
    "Chen",
    "Okafor",
    "Johnson",
    "Rossi",
    "Kim",
    "Nguyen",
    "Schmidt",
    "Fernández",
    "Lefèvre",
    "Sato",
    "Patel",
    "Andersson",
    "Papadopoulos",
    "山田",
    "Wójcik",
    "Brown",
    "Çelik",
];

/// ISO 3166-1 alpha-2 codes, most common first (picked with a skew).
pub const COUNTRIES: &[&str] = &[
    "US", "DE", "GB", "FR", "JP", "BR", "IN", "ES", "PL", "NL", "SE", "TR", "VN", "NG", "CN", "NO",
    "CZ", "IE",
];

pub const CATEGORIES: &[&str] = &[
    "books",
    "electronics",
    "garden",
    "toys",
    "grocery",
    "apparel",
];

pub const ADJECTIVES: &[&str] = &[
    "Ergonomic",
    "Rustic",
    "Compact",
    "Deluxe",
    "Organic",
    "Handmade",
    "Wireless",
    "Vintage",
    "Crème",
    "Smart",
    "Ultralight",
    "Recycled",
];

pub const NOUNS: &[&str] = &[
    "Chair",
    "Lamp",
    "Notebook",
    "Headphones",
    "Teapot",
    "Backpack",
    "Puzzle",
    "Jacket",
    "Brûlée Kit",
    "Planter",
    "Keyboard",
    "Café Blend",
];

pub const CURRENCIES: &[&str] = &["EUR", "USD", "GBP"];

/// Notes customers leave on a few orders.
pub const NOTES: &[&str] = &[
    "Leave at the door",
    "Gift wrap, please",
    "Bitte beim Nachbarn abgeben",
    "配達前に電話してください",
    "No plastic packaging 🌱",
];

/// Lower-case ASCII for an email local part: accents dropped, anything else
/// (apostrophes, CJK) removed. Empty when nothing is left.
pub fn ascii_fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        match c {
            'a'..='z' | '0'..='9' => out.push(c),
            'á' | 'à' | 'â' | 'ä' | 'å' | 'ã' => out.push('a'),
            'é' | 'è' | 'ê' | 'ë' | 'ễ' => out.push('e'),
            'í' | 'ì' | 'î' | 'ï' | 'ı' => out.push('i'),
            'ó' | 'ò' | 'ô' | 'ö' | 'ø' | 'õ' => out.push('o'),
            'ú' | 'ù' | 'û' | 'ü' => out.push('u'),
            'ç' | 'č' | 'ć' => out.push('c'),
            'ł' | 'ľ' => out.push('l'),
            'ñ' | 'ń' => out.push('n'),
            'š' | 'ś' | 'ş' => out.push('s'),
            'ž' | 'ź' | 'ż' => out.push('z'),
            'đ' => out.push('d'),
            'ý' => out.push('y'),
            'ß' => out.push_str("ss"),
            'æ' => out.push_str("ae"),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_keeps_the_latin_letters_and_drops_the_rest() {
        assert_eq!(ascii_fold("José"), "jose");
        assert_eq!(ascii_fold("Øvergaard"), "overgaard");
        assert_eq!(ascii_fold("O'Brien"), "obrien");
        assert_eq!(ascii_fold("Đorđević"), "dordevic");
        assert_eq!(ascii_fold("山田"), "");
    }

    #[test]
    fn the_lists_carry_non_ascii_names() {
        assert!(FIRST_NAMES.iter().chain(LAST_NAMES).any(|n| !n.is_ascii()));
    }
}
