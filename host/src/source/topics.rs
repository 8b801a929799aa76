//! Pipeline topic patterns (globs, as in plugins.toml) → librdkafka
//! subscriptions. librdkafka takes a topic starting with `^` as a regex
//! (POSIX-like, its own engine), so a glob is translated by hand rather than
//! with a Rust regex dialect it would not understand.

/// The subscription entry for one glob: the name itself when it has no
/// wildcard, else an anchored regex (`*` → `.*`, `?` → `.`, `[...]` kept).
pub fn subscription(glob: &str) -> String {
    if !glob.contains(['*', '?', '[']) {
        return glob.to_string();
    }
    let mut re = String::from("^");
    let mut in_class = false;
    for ch in glob.chars() {
        match ch {
            '[' if !in_class => {
                in_class = true;
                re.push('[');
            }
            ']' if in_class => {
                in_class = false;
                re.push(']');
            }
            _ if in_class => re.push(if ch == '!' { '^' } else { ch }),
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            '.' | '+' | '(' | ')' | '|' | '^' | '$' | '{' | '}' | '\\' => {
                re.push('\\');
                re.push(ch);
            }
            _ => re.push(ch),
        }
    }
    re.push('$');
    re
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_become_anchored_regexes() {
        assert_eq!(subscription("*.*.*"), r"^.*\..*\..*$");
        assert_eq!(subscription("shop.public.*"), r"^shop\.public\..*$");
        assert_eq!(
            subscription("shop.public.order?"),
            r"^shop\.public\.order.$"
        );
        assert_eq!(subscription("t[0-9]"), "^t[0-9]$");
    }

    #[test]
    fn plain_names_stay_names() {
        assert_eq!(subscription("shop.public.orders"), "shop.public.orders");
    }
}
