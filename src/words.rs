//! Names kept as one string of space-separated words (options, signals,
//! capabilities, resources, system calls), where a word's index is what it
//! names. One byte loop serves them all: `str::split(' ')` brought core's
//! memchr and its searcher along. A leaf: it imports nothing of nsinit's.

fn split(list: &str) -> impl Iterator<Item = &[u8]> {
    list.as_bytes().split(|&c| c == b' ')
}

/// The index of `word` in `list`.
pub fn position(list: &str, word: &[u8]) -> Option<usize> {
    split(list).position(|w| w == word)
}

/// Word `n` of `list`.
pub fn nth(list: &str, n: usize) -> Option<&[u8]> {
    split(list).nth(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_by_index_and_back() {
        let list = "allow deny never";
        assert_eq!(position(list, b"deny"), Some(1));
        assert_eq!(position(list, b"den"), None);
        assert_eq!(position(list, b""), None);
        assert_eq!(nth(list, 0), Some(&b"allow"[..]));
        assert_eq!(nth(list, 2), Some(&b"never"[..]));
        assert_eq!(nth(list, 3), None);
    }
}
