//! The manual page, nsinit.1, documents exactly the options nsinit has: the
//! option names in the built binary's `--help`, in the page's OPTIONS
//! entries and in src/cli.rs's option table are the same three sets, and
//! each short option goes with the same long one in all three.

mod common;

use common::*;
use std::collections::BTreeSet;

type Names = BTreeSet<String>;
type Pairs = BTreeSet<(String, String)>;

fn read(path: &str) -> String {
    let full = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// An option named in `text`, one per occurrence: `--name` (lowercase
/// letters, digits and dashes) or `-x` (one letter, then no letter, digit
/// or dash), each at the start of a word. So `[--]`, `-try`, `isa-debug-exit`
/// and `128+N` are not options.
fn occurrences(text: &str) -> Vec<(usize, String)> {
    let b = text.as_bytes();
    let word_char = |c: u8| c.is_ascii_alphanumeric() || c == b'-' || c == b'_';
    let mut found = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts_word = i == 0 || !word_char(b[i - 1]);
        if b[i] != b'-' || !starts_word {
            i += 1;
            continue;
        }
        if b.get(i + 1) == Some(&b'-') && b.get(i + 2).is_some_and(u8::is_ascii_lowercase) {
            let mut end = i + 2;
            while end < b.len() && (b[end].is_ascii_alphanumeric() || b[end] == b'-') {
                end += 1;
            }
            let name = text[i..end].trim_end_matches('-');
            found.push((i, name.to_string()));
            i = end;
        } else if b.get(i + 1).is_some_and(u8::is_ascii_alphabetic)
            && !b.get(i + 2).is_some_and(|&c| word_char(c))
        {
            found.push((i, text[i..i + 2].to_string()));
            i += 2;
        } else {
            i += 1;
        }
    }
    found
}

fn names(text: &str) -> Names {
    occurrences(text).into_iter().map(|(_, n)| n).collect()
}

/// `-x` directly followed by `--long` (only blanks and commas between), as
/// in `-R, --root=DIR`: the short form of that long option.
fn pairs(text: &str) -> Pairs {
    occurrences(text)
        .windows(2)
        .filter_map(|w| {
            let ((at, short), (next, long)) = (&w[0], &w[1]);
            let between = &text[at + short.len()..*next];
            let adjacent = between.bytes().all(|c| c == b' ' || c == b',');
            (short.len() == 2 && long.starts_with("--") && adjacent)
                .then(|| (short.clone(), long.clone()))
        })
        .collect()
}

/// `--help`'s text, with its one shorthand spelled out: on the line that
/// says "-try forms", each long option also has a `-try` form.
fn help() -> String {
    let o = run(As::Root, &["--help"]);
    assert_eq!(o.status.code(), Some(0), "--help: {}", stderr(&o));
    let text = stdout(&o);
    assert!(text.starts_with("Usage: nsinit"), "{text}");
    let mut out = String::new();
    for line in text.lines() {
        out.push_str(line);
        if line.contains("(-try forms") {
            for name in names(line).iter().filter(|n| n.starts_with("--")) {
                out.push_str(&format!(" {name}-try"));
            }
        }
        out.push('\n');
    }
    out
}

/// roff source to plain text: font changes (`\fB`, `\f(CW`, `\f[I]`),
/// `\&` and macro quotes gone, `\-` a dash, other escapes a space.
fn plain(roff: &str) -> String {
    let mut out = String::new();
    let mut chars = roff.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('-') => out.push('-'),
                Some('&' | 'c') => {}
                Some('f') => match chars.next() {
                    Some('(') => {
                        chars.next();
                        chars.next();
                    }
                    Some('[') => while chars.next().is_some_and(|c| c != ']') {},
                    _ => {}
                },
                Some('(') => {
                    chars.next();
                    chars.next();
                    out.push(' ');
                }
                _ => out.push(' '),
            },
            '"' => {}
            c => out.push(c),
        }
    }
    out
}

/// The tags of the page's OPTIONS entries (the line after each `.TP`
/// between `.SH OPTIONS` and the next `.SH`), as plain text: what the page
/// documents, as opposed to options it only mentions in passing.
fn man_tags() -> String {
    let page = read("nsinit.1");
    let mut lines = page
        .lines()
        .skip_while(|l| l.trim_end() != ".SH OPTIONS")
        .skip(1)
        .take_while(|l| !l.starts_with(".SH "));
    let mut tags = String::new();
    while let Some(line) = lines.next() {
        if line.trim_end() == ".TP" {
            let tag = lines.next().unwrap_or("");
            // A macro's name is not part of the tag: `.BR \-U ", " \-\-user`.
            let tag = match tag.strip_prefix('.') {
                Some(macro_line) => macro_line.split_once(' ').map_or("", |(_, rest)| rest),
                None => tag,
            };
            tags.push_str(&plain(tag));
            tags.push('\n');
        }
    }
    assert!(!tags.is_empty(), "nsinit.1: no .TP entry under .SH OPTIONS");
    tags
}

/// src/cli.rs's table: the rows of `options! { ... }`, each
/// `(b'U', "user", Nothing, ...)` or `(0, "map-user", Value, ...)`.
fn cli_table() -> (Names, Pairs) {
    let source = read("src/cli.rs");
    let (mut names, mut pairs) = (Names::new(), Pairs::new());
    let rows = source
        .lines()
        .skip_while(|l| l.trim() != "options! {")
        .skip(1)
        .take_while(|l| l.trim() != "}");
    for row in rows {
        let fields: Vec<&str> = row.trim().trim_start_matches('(').split(", ").collect();
        assert!(
            fields.len() >= 4,
            "src/cli.rs: unexpected option row {row:?}"
        );
        let long = format!("--{}", fields[1].trim_matches('"'));
        if let Some(short) = fields[0].strip_prefix("b'") {
            let short = format!("-{}", short.trim_end_matches('\''));
            names.insert(short.clone());
            pairs.insert((short, long.clone()));
        } else {
            assert_eq!(
                fields[0], "0",
                "src/cli.rs: unexpected short name in {row:?}"
            );
        }
        names.insert(long);
    }
    assert!(
        names.len() > 50,
        "src/cli.rs: the option table was not found"
    );
    (names, pairs)
}

/// Equal sets, or a message that says what each side lacks.
fn same<T: Ord + std::fmt::Debug>(what: &str, a: (&str, &BTreeSet<T>), b: (&str, &BTreeSet<T>)) {
    let only_a: Vec<&T> = a.1.difference(b.1).collect();
    let only_b: Vec<&T> = b.1.difference(a.1).collect();
    assert!(
        only_a.is_empty() && only_b.is_empty(),
        "{what}: in {} but not in {}: {only_a:?}; in {} but not in {}: {only_b:?}",
        a.0,
        b.0,
        b.0,
        a.0
    );
}

#[test]
fn man_page_documents_every_option_of_help() {
    let (help, man) = (help(), man_tags());
    same(
        "options",
        ("--help", &names(&help)),
        ("nsinit.1", &names(&man)),
    );
    same(
        "short and long forms",
        ("--help", &pairs(&help)),
        ("nsinit.1", &pairs(&man)),
    );
}

#[test]
fn help_lists_every_option_of_the_parser() {
    let help = help();
    let (cli, cli_pairs) = cli_table();
    same("options", ("src/cli.rs", &cli), ("--help", &names(&help)));
    same(
        "short and long forms",
        ("src/cli.rs", &cli_pairs),
        ("--help", &pairs(&help)),
    );
}

#[test]
fn man_page_documents_every_option_of_the_parser() {
    let man = man_tags();
    let (cli, cli_pairs) = cli_table();
    same("options", ("src/cli.rs", &cli), ("nsinit.1", &names(&man)));
    same(
        "short and long forms",
        ("src/cli.rs", &cli_pairs),
        ("nsinit.1", &pairs(&man)),
    );
}

#[test]
fn man_page_is_of_this_version() {
    let page = read("nsinit.1");
    let th = page.lines().find(|l| l.starts_with(".TH ")).unwrap_or("");
    let version = format!("\"nsinit {}\"", env!("CARGO_PKG_VERSION"));
    assert!(
        th.contains(&version),
        "nsinit.1's .TH line {th:?} lacks {version}"
    );
}

#[test]
fn the_extractor_reads_options_and_nothing_else() {
    let text = "Usage: nsinit [--] -U --user  -w, --wd, --chdir=DIR (imply -U) \
        isa-debug-exit 128+N (-try forms) --mount-proc[=DIR] -rpm";
    let want: Names = ["-U", "--user", "-w", "--wd", "--chdir", "--mount-proc"]
        .map(String::from)
        .into();
    assert_eq!(names(text), want);
    let want: Pairs = [("-U", "--user"), ("-w", "--wd")]
        .map(|(s, l)| (s.to_string(), l.to_string()))
        .into();
    assert_eq!(pairs(text), want);
    let tag = plain(r#"\fB\-R\fR, \fB\-\-root\fR=\fIdir\fR ", " \f(CW\-\-x\-y\fP"#);
    assert_eq!(tag, "-R, --root=dir ,  --x-y");
}
