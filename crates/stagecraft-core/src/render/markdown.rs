//! The Markdown rendering, for a pull-request comment: a summary line, destroys called out at
//! the top, deployments and promotions in a short table, then each resource's text diff in a
//! collapsible section; cut to fit GitHub's comment limit, dropping detail sections from the end.

use super::rollout::after_address;
use super::text::{MARK, Paint, no_changes_detail, refactor_lines, resource};
use super::{count, counts_words, describe, thousands};
use crate::plan::{Action, Change, Desired, Plan, RolloutNote, Standing};

/// GitHub's limit on the length of an issue or pull-request comment; the CLI passes it to
/// [`markdown`].
pub const MARKDOWN_LIMIT: usize = 65_536;

/// Renders `plan` as a Markdown pull-request comment of at most `limit` bytes (so at most
/// `limit` characters), ending with a newline.
///
/// In order: the summary line; when anything is destroyed, a `> [!CAUTION]` callout listing each
/// destroyed address; a table of the deployments and promotions; one `<details>` section per
/// changed resource holding its text diff in a `diff` code block. Secrets are masked as in the
/// text rendering. When the whole does not fit, detail sections are dropped from the end (then
/// the table) and a closing note says how many resources' details and how many characters were
/// left out; the summary and the callout stay (a callout too long on its own is cut, with a count
/// of the addresses not listed).
pub fn markdown(plan: &Plan, limit: usize) -> String {
    let summary = summary_line(plan);
    let destroyed: Vec<String> = plan
        .changes
        .iter()
        .filter(|change| change.actions.contains(&Action::Delete))
        .map(|change| change.address.to_string())
        .collect();
    let callout = Callout::new(&destroyed);
    let table = deployments_table(plan);
    let mut sections: Vec<String> = plan
        .changes
        .iter()
        .map(|change| section(plan, change))
        .collect();
    sections.extend(outputs_section(plan));

    let mut head: Vec<String> = vec![summary.clone()];
    if !plan.has_changes() {
        head.push(format!("{}\n", no_changes_detail(plan.unchanged)));
    }
    let refactors = refactor_lines(plan);
    if !refactors.is_empty() {
        head.push(format!("```\n{refactors}```\n"));
    }
    let (rolled_back, rollout_notes) = rollout_callouts(plan);
    head.extend(rolled_back.clone());
    head.extend(callout.render(destroyed.len()));
    head.extend(rollout_notes);
    head.extend(table.clone());
    let head_len = joined_len(&head);
    let sections_len: Vec<usize> = sections.iter().map(String::len).collect();
    let all_sections: usize = sections_len.iter().sum::<usize>() + sections_len.len();

    // Everything fits.
    if head_len + all_sections <= limit {
        let mut blocks = head;
        blocks.extend(sections);
        return blocks.join("\n");
    }

    // Drop detail sections from the end until the rest and the note fit.
    let mut kept_len = all_sections;
    for kept in (0..sections.len()).rev() {
        kept_len -= sections_len[kept] + 1;
        let dropped = sections.len() - kept;
        let dropped_chars = all_sections - kept_len;
        let note = note(dropped, dropped_chars, false, limit);
        if head_len + kept_len + 1 + note.len() <= limit {
            let mut blocks = head;
            blocks.extend(sections.into_iter().take(kept));
            blocks.push(note);
            return blocks.join("\n");
        }
    }

    // Then the table too; then cut the destroy list itself.
    let table_len = table.as_ref().map_or(0, |table| table.len() + 1);
    let note = note(
        sections.len(),
        all_sections + table_len,
        table.is_some(),
        limit,
    );
    // Rolled-back canaries are called out like destroys: kept as long as the summary is.
    let rolled_back_len = rolled_back.as_ref().map_or(0, |text| text.len() + 1);
    for keep in (0..=destroyed.len()).rev() {
        let callout_len = callout.len(keep);
        let separator = usize::from(callout_len > 0);
        if summary.len() + rolled_back_len + separator + callout_len + 1 + note.len() <= limit {
            let mut blocks = vec![summary];
            blocks.extend(rolled_back);
            blocks.extend(callout.render(keep));
            blocks.push(note);
            return blocks.join("\n");
        }
    }

    // A limit too small even for the summary and the note: cut at a character boundary.
    let mut blocks = vec![summary];
    blocks.extend(rolled_back);
    blocks.extend(callout.render(0));
    let mut text = blocks.join("\n");
    let mut end = limit.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text
}

/// The length of blocks joined by blank lines.
fn joined_len(blocks: &[String]) -> usize {
    blocks.iter().map(String::len).sum::<usize>() + blocks.len().saturating_sub(1)
}

/// `**stagecraft plan for `storefront`**: 1 to add, 2 to change, 1 to destroy`.
fn summary_line(plan: &Plan) -> String {
    let title = format!("**stagecraft plan for {}**", code(&plan.project));
    if !plan.has_changes() {
        return format!("{title}: No changes. Your infrastructure matches the configuration.\n");
    }
    format!("{title}: {}\n", counts_words(&plan.summary()))
}

/// The `> [!CAUTION]` block listing destroyed addresses, measurable before it is built.
struct Callout {
    header: String,
    lines: Vec<String>,
    /// `prefix[k]`: the length of the first `k` lines.
    prefix: Vec<usize>,
}

impl Callout {
    fn new(destroyed: &[String]) -> Callout {
        let header = format!(
            "> [!CAUTION]\n> **This plan destroys {}:**\n",
            count(destroyed.len(), "resource", "resources")
        );
        let lines: Vec<String> = destroyed
            .iter()
            .map(|address| format!("> - {}\n", code(address)))
            .collect();
        let mut prefix = vec![0];
        for line in &lines {
            prefix.push(prefix.last().copied().unwrap_or(0) + line.len());
        }
        Callout {
            header,
            lines,
            prefix,
        }
    }

    fn rest_line(&self, keep: usize) -> String {
        let rest = self.lines.len().saturating_sub(keep);
        if rest == 0 {
            String::new()
        } else {
            format!("> - … and {rest} more\n")
        }
    }

    /// The length of the callout listing the first `keep` addresses (0 when nothing is
    /// destroyed).
    fn len(&self, keep: usize) -> usize {
        if self.lines.is_empty() {
            return 0;
        }
        let keep = keep.min(self.lines.len());
        self.header.len() + self.prefix[keep] + self.rest_line(keep).len()
    }

    /// The callout listing the first `keep` addresses; `None` when nothing is destroyed.
    fn render(&self, keep: usize) -> Option<String> {
        if self.lines.is_empty() {
            return None;
        }
        let keep = keep.min(self.lines.len());
        let mut out = self.header.clone();
        for line in &self.lines[..keep] {
            out.push_str(line);
        }
        out.push_str(&self.rest_line(keep));
        Some(out)
    }
}

/// At most this many rollouts are listed in each callout; the rest are counted.
const ROLLOUTS_LISTED: usize = 20;

/// The rollouts the plan reports, as two callouts: canaries rolled back or aborted (a
/// `> [!WARNING]`, at the top like destroys), and the others, running or promoted (a
/// `> [!NOTE]`). Each lists at most [`ROLLOUTS_LISTED`].
fn rollout_callouts(plan: &Plan) -> (Option<String>, Option<String>) {
    let (rejected, others): (Vec<&RolloutNote>, Vec<&RolloutNote>) = plan
        .rollouts
        .iter()
        .partition(|note| matches!(note.standing, Standing::Rejected { .. }));
    let callout = |kind: &str, title: &str, notes: &[&RolloutNote]| {
        if notes.is_empty() {
            return None;
        }
        let mut out = format!("> [!{kind}]\n> **{title}**\n");
        for note in notes.iter().take(ROLLOUTS_LISTED) {
            out.push_str(&format!(
                "> - {}{}\n",
                code(&note.address.to_string()),
                escape(&after_address(note))
            ));
        }
        if notes.len() > ROLLOUTS_LISTED {
            out.push_str(&format!(
                "> - … and {} more\n",
                notes.len() - ROLLOUTS_LISTED
            ));
        }
        Some(out)
    };
    let rejected_title = format!(
        "{} rolled back or aborted, not deployed again:",
        count(rejected.len(), "canary", "canaries")
    );
    let others_title = format!("{}:", count(others.len(), "rollout", "rollouts"));
    (
        callout("WARNING", &rejected_title, &rejected),
        callout("NOTE", &others_title, &others),
    )
}

/// Whether a change deploys something, promotes a canary or imports (listed up front).
fn is_deployment(change: &Change) -> bool {
    change.actions.iter().any(|action| match action {
        Action::Redeploy
        | Action::Rollback
        | Action::CanaryDeploy
        | Action::CanaryRepoint
        | Action::Promote
        | Action::ArtifactDeploy => true,
        // An import is reviewed like a deployment: it takes a running resource into the state.
        Action::Import => true,
        // A new stage is its first deployment.
        Action::Create => matches!(change.after, Some(Desired::Stage(_))),
        Action::Update | Action::Delete => false,
    })
}

/// The table of deployments and promotions: address | what happens, in words.
fn deployments_table(plan: &Plan) -> Option<String> {
    let rows: Vec<String> = plan
        .changes
        .iter()
        .filter(|change| is_deployment(change))
        .map(|change| {
            let words = describe(plan, change);
            let words = words.strip_prefix("be ").unwrap_or(&words);
            format!(
                "| {} {} | {} |\n",
                change.kind(),
                code(&change.address.to_string()).replace('|', "\\|"),
                escape(words)
            )
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let mut out =
        String::from("**Deployments and promotions**\n\n| resource | action |\n|---|---|\n");
    for row in rows {
        out.push_str(&row);
    }
    Some(out)
}

/// One resource's collapsible section with its diff.
fn section(plan: &Plan, change: &Change) -> String {
    let actions: Vec<&str> = change
        .actions
        .iter()
        .map(|action| action_name(*action))
        .collect();
    let summary = format!(
        "{} {} ({})",
        change.kind(),
        change.address,
        actions.join(", ")
    );
    let diff = diff_lines(&resource(plan, change, Paint::MARKED));
    let fence = "`".repeat(longest_run(&diff, '`').max(2) + 1);
    format!(
        "<details><summary>{}</summary>\n\n{fence}diff\n{diff}{fence}\n\n</details>\n",
        html_escape(&summary)
    )
}

/// The outputs the plan changes, in a collapsible section of their own after the resources'
/// (`Changes to Outputs:` as the text plan shows it); `None` when no output changes.
fn outputs_section(plan: &Plan) -> Option<String> {
    let changed = plan.output_changes().count();
    if changed == 0 {
        return None;
    }
    let mut text = String::new();
    super::outputs::push_output_changes(&mut text, plan, Paint::MARKED);
    // The heading is the section's summary.
    let body = text.split_once('\n').map_or("", |(_, rest)| rest);
    let diff = diff_lines(body);
    let fence = "`".repeat(longest_run(&diff, '`').max(2) + 1);
    Some(format!(
        "<details><summary>{}</summary>\n\n{fence}diff\n{diff}{fence}\n\n</details>\n",
        html_escape(&format!(
            "Changes to Outputs ({})",
            count(changed, "output", "outputs")
        ))
    ))
}

/// Moves each line's marked change symbol to the first column, where GitHub's `diff`
/// highlighting looks for `+` and `-`; the width of the line is kept so the columns still line
/// up. Only symbols the text renderer marked move, never a value that happens to start with one.
fn diff_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        match line.split_once(MARK) {
            Some((indent, rest)) => {
                let mut characters = rest.chars();
                if let Some(symbol) = characters.next() {
                    out.push(symbol);
                }
                out.push_str(indent);
                out.push_str(characters.as_str());
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// The note closing a truncated comment.
fn note(resources: usize, characters: usize, table: bool, limit: usize) -> String {
    let what = count(resources, "resource", "resources");
    let what = if table {
        format!("the deployments table and details of {what}")
    } else {
        format!("details of {what}")
    };
    let within = if limit == MARKDOWN_LIMIT {
        format!("GitHub's {}-character comment limit", thousands(limit))
    } else {
        format!("the {}-character limit", thousands(limit))
    };
    format!(
        "_… {what} ({} characters) left out to stay within {within}. Run `stagecraft plan` \
         (or `stagecraft show` on the saved plan file) for the full plan._\n",
        thousands(characters)
    )
}

/// The snake_case name of an action, as in the JSON document.
pub(super) fn action_name(action: Action) -> &'static str {
    match action {
        Action::Import => "import",
        Action::Create => "create",
        Action::Update => "update",
        Action::Redeploy => "redeploy",
        Action::Rollback => "rollback",
        Action::CanaryDeploy => "canary_deploy",
        Action::CanaryRepoint => "canary_repoint",
        Action::Promote => "promote",
        Action::ArtifactDeploy => "artifact_deploy",
        Action::Delete => "delete",
    }
}

/// The longest run of `character` in `text`.
fn longest_run(text: &str, character: char) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for current in text.chars() {
        if current == character {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

/// `text` as an inline code span, whatever backticks it contains.
fn code(text: &str) -> String {
    let fence = "`".repeat(longest_run(text, '`') + 1);
    if text.starts_with('`') || text.ends_with('`') {
        format!("{fence} {text} {fence}")
    } else {
        format!("{fence}{text}{fence}")
    }
}

/// Escapes Markdown (and inline HTML) syntax in running text, table pipes included.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        if matches!(
            character,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '#'
        ) {
            out.push('\\');
        }
        out.push(character);
    }
    out
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
