//! The docs' examples, run: every ```console block of the repository's Markdown files is run and
//! its output compared with what the block shows, so an example cannot drift from the binary.
//!
//! A console block is a shell transcript: a line `$ COMMAND` (continued on the next lines while
//! one ends with `\`), then the output the command prints, standard error merged into standard
//! output, until the next `$ ` line or the end of the block. A block's commands run in order in
//! one `sh` from the repository root, so `cd`, variables, pipes, `< file`, `2>&1 >/dev/null`,
//! `VAR=value forwarder ...` and `echo $?` mean what they mean in a terminal. `forwarder` is the
//! binary this test builds (its directory is first on `PATH`), and `cargo run --release -p
//! forwarder -- ARGS` runs that same binary: the release build is what cargo would add, and it is
//! not what a block shows. The environment is empty but for `PATH`, `HOME` and `LC_ALL=C`, so no
//! setting of the machine's reaches a command; AWS is unreachable (no credentials, no metadata),
//! which is why blocks that need AWS are plain ```sh and not run.
//!
//! Output is compared with snapbox's rules: `[..]` in a line matches any text within the line,
//! `...` alone on a line matches any number of lines, and what changes from run to run is
//! redacted in both: `[ROOT]` (the repository's path), `[TIMESTAMP]` (a time in milliseconds
//! written now, such as an EMF document's `Timestamp` or an event `encode` stamps with the current
//! time).
//!
//! `SNAPSHOTS=overwrite cargo test -p forwarder-tests --test docs` writes what the commands print
//! into the blocks instead, keeping each `[..]`, `...` and redaction that still matches; review the
//! change with `git diff`.
//!
//! Outside console blocks, a ```sh block that runs `forwarder scan` or `forwarder encode` (offline
//! commands) and nothing that needs AWS is refused: it must be a console block, with its output.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use forwarder_tests::{forwarder_bin, root};
use snapbox::{Assert, Data, Redactions};

/// Folders that hold no docs of the project's own (builds, tools, dependencies).
const SKIPPED_DIRS: &[&str] = &[
    ".git",
    "target",
    "node_modules",
    ".venv",
    ".venv-sam",
    ".aws-sam",
    "cdk.out",
    ".run",
    ".terraform",
];

/// The mark written between two commands' outputs; no example prints it.
const MARK: &str = "@@docs-test-step";

#[derive(Debug)]
struct Step {
    /// 1-based line of the `$ ` line.
    line: usize,
    command: String,
    /// 0-based line range of the expected output in the file.
    expected: std::ops::Range<usize>,
}

#[derive(Debug)]
struct Block {
    /// The fence's indentation, removed from every line of the block.
    indent: usize,
    steps: Vec<Step>,
}

fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name();
        let file_type = entry.file_type().unwrap();
        if file_type.is_dir() {
            if !SKIPPED_DIRS.iter().any(|s| name == *s) {
                markdown_files(&path, out);
            }
        } else if file_type.is_file() && path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
}

/// A fence: its indentation, backticks and info string, if `line` opens or closes one. As in
/// CommonMark, an info string holds no backtick: a line that starts with inline code is no fence.
fn fence(line: &str) -> Option<(usize, &str, &str)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    let rest = &line[indent..];
    let ticks = rest.len() - rest.trim_start_matches('`').len();
    let info = rest[ticks..].trim();
    (ticks >= 3 && !info.contains('`')).then(|| (indent, &rest[..ticks], info))
}

/// Commands an example may run without AWS: such a block must be a console block.
fn runs_offline(line: &str) -> bool {
    let line = line.trim_start();
    let line = line.strip_prefix("$ ").unwrap_or(line);
    ["forwarder scan", "forwarder encode"]
        .iter()
        .any(|c| line.starts_with(c))
        || line.starts_with("cargo run --release -p forwarder -- scan")
        || line.starts_with("cargo run --release -p forwarder -- encode")
}

fn needs_aws(line: &str) -> bool {
    let line = line.trim_start();
    let line = line.strip_prefix("$ ").unwrap_or(line);
    ["aws ", "sam ", "curl ", "terraform ", "cdk ", "node "]
        .iter()
        .any(|c| line.starts_with(c) || line.contains(&format!("$({c}")))
        || line.contains("--publish")
        || ["doctor", "check", "preflight"].iter().any(|sub| {
            line.starts_with(&format!("forwarder {sub} "))
                || line.contains(&format!("-p forwarder -- {sub} "))
        })
}

/// The console blocks of one file; errors for a malformed block and for an offline example
/// outside a console block.
fn parse(rel: &str, text: &str) -> Result<Vec<Block>, Vec<String>> {
    let lines: Vec<&str> = text.lines().collect();
    let mut blocks = Vec::new();
    let mut errors = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some((indent, ticks, info)) = fence(lines[i]) else {
            i += 1;
            continue;
        };
        let open = i;
        let mut close = open + 1;
        while close < lines.len()
            && !fence(lines[close]).is_some_and(|(_, t, rest)| t == ticks && rest.is_empty())
        {
            close += 1;
        }
        let body = |j: usize| {
            let l = lines[j];
            if l.len() >= indent && l[..indent].trim().is_empty() {
                &l[indent..]
            } else {
                l.trim_start()
            }
        };
        let lang = info.split([' ', ',']).next().unwrap_or("");
        if lang == "console" {
            let mut steps: Vec<Step> = Vec::new();
            let mut j = open + 1;
            while j < close {
                let l = body(j);
                let Some(first) = l.strip_prefix("$ ") else {
                    errors.push(format!(
                        "{rel}:{}: a console block's output follows a `$ ` command line",
                        j + 1
                    ));
                    break;
                };
                let line = j + 1;
                let mut command = first.to_owned();
                j += 1;
                while command.ends_with('\\') && j < close {
                    command.push('\n');
                    command.push_str(body(j));
                    j += 1;
                }
                let start = j;
                while j < close && !body(j).starts_with("$ ") {
                    j += 1;
                }
                steps.push(Step {
                    line,
                    command,
                    expected: start..j,
                });
            }
            if steps.is_empty() && errors.is_empty() {
                errors.push(format!("{rel}:{}: an empty console block", open + 1));
            }
            blocks.push(Block { indent, steps });
        } else if matches!(lang, "sh" | "bash" | "shell" | "") {
            let block: Vec<&str> = (open + 1..close).map(body).collect();
            let offline = block.iter().any(|l| runs_offline(l));
            if offline && !block.iter().any(|l| needs_aws(l)) {
                errors.push(format!(
                    "{rel}:{}: this block runs without AWS: make it a ```console block, each \
                     command after `$ ` with its output, so the docs test runs it",
                    open + 1
                ));
            }
        } else if lang != "console" {
            // A transcript of an offline command in a block that is not run.
            for j in open + 1..close {
                let l = body(j);
                if let Some(command) = l.strip_prefix("$ ")
                    && runs_offline(command)
                    && !needs_aws(command)
                {
                    errors.push(format!(
                        "{rel}:{}: `{command}` runs without AWS: show it in a ```console block",
                        j + 1
                    ));
                }
            }
        }
        i = close + 1;
    }
    if errors.is_empty() {
        Ok(blocks)
    } else {
        Err(errors)
    }
}

/// Runs a block's commands in one sh; each command's output and exit status.
fn run_block(block: &Block, bin_dir: &Path) -> Vec<(String, i32)> {
    let mut script = String::from(
        "exec 2>&1 </dev/null\n\
         cargo() {\n\
         \x20 if [ \"$1 $2 $3 $4 $5\" = 'run --release -p forwarder --' ]; then shift 5; forwarder \"$@\"\n\
         \x20 else echo \"docs test: only 'cargo run --release -p forwarder -- ARGS' runs here\"; return 127; fi\n\
         }\n",
    );
    for (n, step) in block.steps.iter().enumerate() {
        // The status goes into the mark after the command, and back into `$?` before the next
        // one, for its `echo $?`.
        writeln!(
            script,
            "printf '{MARK} {n}@@\\n'; (exit \"${{__docs_status:-0}}\")"
        )
        .unwrap();
        writeln!(script, "{}", step.command).unwrap();
        writeln!(
            script,
            "__docs_status=$?; printf '\\n{MARK}-status %s@@\\n' \"$__docs_status\""
        )
        .unwrap();
    }
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .current_dir(root())
        .env_clear()
        .env("PATH", path)
        .env(
            "HOME",
            std::env::var_os("HOME").unwrap_or_else(|| "/".into()),
        )
        .env("LC_ALL", "C")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("sh runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut results = Vec::new();
    let mut rest = text.as_str();
    for n in 0..block.steps.len() {
        let start_mark = format!("{MARK} {n}@@\n");
        let Some(start) = rest.find(&start_mark) else {
            results.push((
                format!("(the block stopped before this command)\n{rest}"),
                -1,
            ));
            rest = "";
            continue;
        };
        rest = &rest[start + start_mark.len()..];
        let end_mark = format!("\n{MARK}-status ");
        let Some(end) = rest.find(&end_mark) else {
            results.push((format!("{rest}\n(the block stopped in this command)"), -1));
            rest = "";
            continue;
        };
        let output = rest[..end].to_owned();
        let after = &rest[end + end_mark.len()..];
        let close = after.find("@@\n").expect("a whole status mark");
        let status = after[..close].parse().unwrap_or(-1);
        rest = &after[close + 3..];
        results.push((output, status));
    }
    results
}

fn redactions() -> Redactions {
    let mut r = Redactions::new();
    r.insert("[ROOT]", root().display().to_string()).unwrap();
    // Milliseconds since the epoch, 2020 to 2286, in a JSON key that holds a time: EMF's
    // `Timestamp`, an encoded event's `timestamp`.
    r.insert(
        "[TIMESTAMP]",
        regex::Regex::new(r#""[Tt]imestamp": ?(?<redacted>1[6-9][0-9]{11})\b"#).unwrap(),
    )
    .unwrap();
    r
}

/// Strips the one newline a transcript's last output line has.
fn trim_end_newline(mut s: String) -> String {
    if s.ends_with('\n') {
        s.pop();
    }
    s
}

#[test]
fn docs_examples_print_what_they_show() {
    let overwrite = std::env::var("SNAPSHOTS").is_ok_and(|v| v == "overwrite");
    let bin_dir = forwarder_bin().parent().unwrap().to_path_buf();
    // Paths are not normalised: a backslash in JSON output is an escape, not Windows' separator.
    let assert = Assert::new()
        .normalize_paths(false)
        .redact_with(redactions())
        .action(snapbox::assert::Action::Verify);
    let mut files = Vec::new();
    markdown_files(&root(), &mut files);
    let mut failures = Vec::new();
    let mut ran = 0;
    let mut rewritten = Vec::new();
    for path in files {
        let rel = path.strip_prefix(root()).unwrap().display().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let blocks = match parse(&rel, &text) {
            Ok(b) => b,
            Err(errors) => {
                failures.extend(errors);
                continue;
            }
        };
        let lines: Vec<&str> = text.lines().collect();
        // Replacements of expected lines, for overwrite: (range, new lines, indent).
        let mut replacements: Vec<(std::ops::Range<usize>, String, usize)> = Vec::new();
        for block in &blocks {
            let results = run_block(block, &bin_dir);
            for (step, (output, status)) in block.steps.iter().zip(results) {
                ran += 1;
                let expected: Vec<&str> = step
                    .expected
                    .clone()
                    .map(|j| {
                        lines[j]
                            .get(block.indent..)
                            .unwrap_or(lines[j].trim_start())
                    })
                    .collect();
                let expected = expected.join("\n");
                let actual = trim_end_newline(output);
                let name = format!("{rel}:{} `{}` (exit {status})", step.line, step.command);
                let (normalized, pattern) =
                    assert.normalize(Data::text(actual), Data::text(expected.clone()));
                let normalized = normalized.render().unwrap_or_default();
                if normalized == pattern.render().unwrap_or_default() {
                    continue;
                }
                if overwrite {
                    if let Some(bad) = normalized
                        .lines()
                        .find(|l| l.starts_with("$ ") || fence(l).is_some())
                    {
                        failures.push(format!(
                            "{name}: its output has a line `{bad}` a console block cannot hold"
                        ));
                    } else {
                        replacements.push((step.expected.clone(), normalized, block.indent));
                    }
                    continue;
                }
                let diff = assert
                    .try_eq(
                        Some(&name),
                        Data::text(normalized),
                        Data::text(expected.clone()),
                    )
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                failures.push(format!("{name}: the output differs\n{diff}"));
            }
        }
        if !replacements.is_empty() {
            let mut new: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
            replacements.sort_by_key(|(r, _, _)| std::cmp::Reverse(r.start));
            for (range, output, indent) in replacements {
                let pad = " ".repeat(indent);
                let lines: Vec<String> = if output.is_empty() {
                    Vec::new()
                } else {
                    // `split`, not `lines`: an output's own last empty line is kept.
                    output
                        .split('\n')
                        .map(|l| {
                            if l.is_empty() {
                                String::new()
                            } else {
                                format!("{pad}{l}")
                            }
                        })
                        .collect()
                };
                new.splice(range, lines);
            }
            let mut out = new.join("\n");
            if text.ends_with('\n') {
                out.push('\n');
            }
            std::fs::write(&path, out).unwrap();
            rewritten.push(rel);
        }
    }
    if !rewritten.is_empty() {
        eprintln!("SNAPSHOTS=overwrite rewrote: {}", rewritten.join(", "));
    }
    assert!(
        failures.is_empty(),
        "{} of the docs' examples fail (SNAPSHOTS=overwrite writes what they print; see \
         tests/tests/docs.rs):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(ran > 0, "no console block found");
    eprintln!("{ran} documented commands print what the docs show");
}
