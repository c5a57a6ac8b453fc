//! The commands `custody --help` lists, read from its `Commands:` section (the test files that walk
//! every command's help share this one reading).

/// The command names of a top-level help page, in order, without `help`.
pub fn listed_commands(top: &str) -> Vec<String> {
    top.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        // A command starts its line after two spaces; its wrapped description is indented further.
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(String::from)
        .collect()
}
