//! AWS's rules for names and values (the table in docs/configuration.md), as data: each rule is
//! a character class and a length range, with the error code and the hint shown when it fails.
//! The same data is the JSON Schema's patterns and lengths (`schema.rs`), so the two cannot
//! disagree.

use std::ops::RangeInclusive;

/// At most this many stages per REST API (AWS's default quota).
pub const MAX_STAGES_PER_API: usize = 10;
/// At most this many variables (or overrides) per stage.
pub const MAX_VARIABLES: usize = 100;

/// `[aws] max_attempts`: at least one attempt, and not so many that a failing call hangs an
/// apply for hours.
pub const MAX_ATTEMPTS: RangeInclusive<u32> = 1..=100;
/// `[aws] requests_per_second`: AWS's API Gateway quota is 10; a test endpoint may allow more,
/// but past 1,000 a second the bucket no longer paces anything real.
pub const REQUESTS_PER_SECOND: RangeInclusive<u32> = 1..=1000;
/// `[aws] request_burst`: AWS's is 40.
pub const REQUEST_BURST: RangeInclusive<u32> = 1..=1000;

/// A character class and a length range in characters, and optionally a prefix AWS reserves.
pub struct Rule {
    /// The diagnostic code when the rule fails.
    pub code: &'static str,
    /// The characters allowed.
    pub chars: Chars,
    /// Shortest allowed length.
    pub min: usize,
    /// Longest allowed length.
    pub max: usize,
    /// The hint shown with the error.
    pub help: &'static str,
    /// A prefix AWS reserves for itself (compared case-sensitively) and the hint shown when a
    /// text starts with it.
    pub reserved_prefix: Option<(&'static str, &'static str)>,
}

/// How a text breaks a [`Rule`]; the message completes a sentence that names the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleViolation {
    /// Empty where at least one character is needed.
    #[error("must not be empty")]
    Empty,
    /// Shorter than the rule's minimum.
    #[error("is shorter than {min} characters")]
    TooShort {
        /// The rule's minimum length.
        min: usize,
    },
    /// Longer than the rule's maximum.
    #[error("is {length} characters long; the limit is {max}")]
    TooLong {
        /// The text's length in characters.
        length: usize,
        /// The rule's maximum length.
        max: usize,
    },
    /// A character outside the rule's class (the first one).
    #[error("contains {}, which is not allowed", describe(*.0))]
    NotAllowed(char),
    /// Starts with a prefix AWS reserves.
    #[error("starts with `{0}`, which AWS reserves")]
    ReservedPrefix(&'static str),
}

/// A character class, as data: the validation tests characters against it and the JSON Schema
/// writes it as a regular expression class ([`Chars::pattern_class`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chars {
    /// ASCII letters (both cases) and digits, and these characters.
    Alphanumeric(&'static str),
    /// Lower-case ASCII letters and digits, and these characters.
    LowerAlphanumeric(&'static str),
    /// Any character that is not a control character (Unicode's `Cc`: U+0000 to U+001F and
    /// U+007F to U+009F), except these.
    PrintableExcept(&'static str),
}

impl Chars {
    /// Whether `c` is in the class.
    pub fn allows(self, c: char) -> bool {
        match self {
            Chars::Alphanumeric(extra) => c.is_ascii_alphanumeric() || extra.contains(c),
            Chars::LowerAlphanumeric(extra) => {
                c.is_ascii_lowercase() || c.is_ascii_digit() || extra.contains(c)
            }
            Chars::PrintableExcept(except) => !c.is_control() && !except.contains(c),
        }
    }

    /// The class as a regular expression class that means the same in ECMA-262 (JSON Schema's
    /// dialect, with or without its `u` flag) and in Rust's `regex`, e.g. `[A-Za-z0-9_-]`.
    pub fn pattern_class(self) -> String {
        fn escaped(extra: &str) -> String {
            extra
                .chars()
                .map(|c| match c {
                    '\\' | ']' | '[' | '^' | '-' => format!("\\{c}"),
                    c => c.to_string(),
                })
                .collect()
        }
        match self {
            Chars::Alphanumeric(extra) => format!("[A-Za-z0-9{}]", escaped(extra)),
            Chars::LowerAlphanumeric(extra) => format!("[a-z0-9{}]", escaped(extra)),
            Chars::PrintableExcept(except) => {
                format!("[^\\x00-\\x1F\\x7F-\\x9F{}]", escaped(except))
            }
        }
    }
}

impl Rule {
    /// `Ok` when `text` obeys the rule, else how it does not.
    pub fn check(&self, text: &str) -> Result<(), RuleViolation> {
        let length = text.chars().count();
        if length < self.min {
            return Err(if length == 0 {
                RuleViolation::Empty
            } else {
                RuleViolation::TooShort { min: self.min }
            });
        }
        if length > self.max {
            return Err(RuleViolation::TooLong {
                length,
                max: self.max,
            });
        }
        if let Some(bad) = text.chars().find(|c| !self.chars.allows(*c)) {
            return Err(RuleViolation::NotAllowed(bad));
        }
        if let Some((prefix, _)) = self.reserved_prefix
            && text.starts_with(prefix)
        {
            return Err(RuleViolation::ReservedPrefix(prefix));
        }
        Ok(())
    }

    /// The hint for a violation of this rule.
    pub fn help_for(&self, violation: &RuleViolation) -> &'static str {
        match (violation, self.reserved_prefix) {
            (RuleViolation::ReservedPrefix(_), Some((_, help))) => help,
            _ => self.help,
        }
    }
}

fn describe(c: char) -> String {
    match c {
        ' ' => "a space".to_string(),
        '\t' => "a tab".to_string(),
        '\n' => "a line break".to_string(),
        c if c.is_control() => format!("the control character U+{:04X}", c as u32),
        c => format!("`{c}`"),
    }
}

/// Shortens a long value for a message.
pub fn shorten(text: &str) -> String {
    if text.chars().count() <= 40 {
        text.to_string()
    } else {
        let head: String = text.chars().take(37).collect();
        format!("{head}...")
    }
}

/// API Gateway stage names: `[A-Za-z0-9_-]{1,128}`.
pub const STAGE_NAME: Rule = Rule {
    code: "config::invalid_stage_name",
    chars: Chars::Alphanumeric("_-"),
    min: 1,
    max: 128,
    help: "stage names use letters, digits, `-` and `_`, up to 128 characters",
    reserved_prefix: None,
};

/// Stage variable and override names: `[A-Za-z0-9_]{1,64}`.
pub const VARIABLE_NAME: Rule = Rule {
    code: "config::invalid_variable_name",
    chars: Chars::Alphanumeric("_"),
    min: 1,
    max: 64,
    help: "stage variable names use letters, digits and `_`, up to 64 characters",
    reserved_prefix: None,
};

/// Input variable names (`[variables.<name>]`, `${var.<name>}`, `STAGECRAFT_VAR_<name>`):
/// `[A-Za-z0-9_]{1,64}`, so that every name is also a portable environment variable's suffix.
pub const INPUT_VARIABLE_NAME: Rule = Rule {
    code: "config::invalid_input_variable_name",
    chars: Chars::Alphanumeric("_"),
    min: 1,
    max: 64,
    help: "input variable names use letters, digits and `_`, up to 64 characters",
    reserved_prefix: None,
};

/// Output names (`[outputs]`): `[A-Za-z0-9_-]{1,64}`, as Terraform's identifiers allow
/// (a leading digit included: stagecraft never evaluates them as expressions).
pub const OUTPUT_NAME: Rule = Rule {
    code: "config::invalid_output_name",
    chars: Chars::Alphanumeric("_-"),
    min: 1,
    max: 64,
    help: "output names use letters, digits, `_` and `-`, up to 64 characters",
    reserved_prefix: None,
};

/// Stage variable values: `[A-Za-z0-9-._~:/?#&=,]{1,512}`.
pub const VARIABLE_VALUE: Rule = Rule {
    code: "config::invalid_variable_value",
    chars: Chars::Alphanumeric("-._~:/?#&=,"),
    min: 1,
    max: 512,
    help: "stage variable values use letters, digits and `-._~:/?#&=,` (no spaces), 1 to 512 characters",
    reserved_prefix: None,
};

/// Keys of `rest_apis` and `amplify_apps` tables: they appear in addresses.
pub const RESOURCE_KEY: Rule = Rule {
    code: "config::invalid_key",
    chars: Chars::Alphanumeric("_-"),
    min: 1,
    max: 128,
    help: "table keys use letters, digits, `-` and `_`",
    reserved_prefix: None,
};

/// REST API ids.
pub const REST_API_ID: Rule = Rule {
    code: "config::invalid_id",
    chars: Chars::Alphanumeric(""),
    min: 1,
    max: 64,
    help: "a REST API id is the short code in its invoke URL, e.g. \"a1b2c3d4e5\"",
    reserved_prefix: None,
};

/// Amplify app ids.
pub const AMPLIFY_APP_ID: Rule = Rule {
    code: "config::invalid_id",
    chars: Chars::Alphanumeric(""),
    min: 1,
    max: 20,
    help: "an Amplify app id looks like \"d2k3j4h5g6\"",
    reserved_prefix: None,
};

/// Amplify branch names (may contain `/`).
pub const BRANCH_NAME: Rule = Rule {
    code: "config::invalid_branch_name",
    chars: Chars::Alphanumeric("_-/."),
    min: 1,
    max: 255,
    help: "branch names use letters, digits, `-`, `_`, `.` and `/`, up to 255 characters",
    reserved_prefix: None,
};

/// Amplify environment variable names.
pub const AMPLIFY_ENV_NAME: Rule = Rule {
    code: "config::invalid_environment_name",
    chars: Chars::PrintableExcept(""),
    min: 1,
    max: 255,
    help: "Amplify environment variable names are 1 to 255 characters",
    // Amplify's user guide: "You can't create environment variable names that start with AWS";
    // checked case-sensitively, as written there (`aws_x` and `Aws_x` pass).
    reserved_prefix: Some((
        "AWS",
        "Amplify reserves environment variable names starting with `AWS` (upper case, as its user \
         guide says; the check is case-sensitive): rename the variable",
    )),
};

/// Amplify environment variable values.
pub const AMPLIFY_ENV_VALUE: Rule = Rule {
    code: "config::invalid_environment_value",
    chars: Chars::PrintableExcept(""),
    min: 0,
    max: 5500,
    help: "Amplify environment variable values are at most 5,500 characters",
    reserved_prefix: None,
};

/// Basic-auth user names and passwords.
pub const BASIC_AUTH_PART: Rule = Rule {
    code: "config::invalid_basic_auth",
    chars: Chars::PrintableExcept(":"),
    min: 1,
    max: 255,
    help: "basic-auth user names and passwords are 1 to 255 characters without `:`",
    reserved_prefix: None,
};

/// Amplify branch descriptions.
pub const BRANCH_DESCRIPTION: Rule = Rule {
    code: "config::invalid_description",
    chars: Chars::PrintableExcept(""),
    min: 0,
    max: 1000,
    help: "Amplify branch descriptions are at most 1,000 characters",
    reserved_prefix: None,
};

/// Amplify framework labels.
pub const FRAMEWORK: Rule = Rule {
    code: "config::invalid_framework",
    chars: Chars::PrintableExcept(""),
    min: 0,
    max: 255,
    help: "framework labels are at most 255 characters",
    reserved_prefix: None,
};

/// Revisions: any printable text.
pub const REVISION: Rule = Rule {
    code: "config::invalid_revision",
    chars: Chars::PrintableExcept(""),
    min: 1,
    max: 200,
    help: "a revision is any label, 1 to 200 characters, e.g. a date or a commit id",
    reserved_prefix: None,
};

/// Project names.
pub const PROJECT_NAME: Rule = Rule {
    code: "config::invalid_project_name",
    chars: Chars::Alphanumeric("_-."),
    min: 1,
    max: 128,
    help: "project names use letters, digits, `-`, `_` and `.`",
    reserved_prefix: None,
};

/// AWS regions.
pub const REGION: Rule = Rule {
    code: "config::invalid_region",
    chars: Chars::LowerAlphanumeric("-"),
    min: 4,
    max: 32,
    help: "a region looks like \"us-east-1\"",
    reserved_prefix: None,
};

/// Environment variable names for `{ env = "..." }`.
pub const ENV_NAME: Rule = Rule {
    code: "config::invalid_env_name",
    chars: Chars::Alphanumeric("_"),
    min: 1,
    max: 255,
    help: "environment variable names use letters, digits and `_`",
    reserved_prefix: None,
};

/// CloudWatch alarm names (`AlarmName` in CloudWatch's model: 1 to 255 characters; its
/// documentation: UTF-8, no ASCII control characters).
pub const ALARM_NAME: Rule = Rule {
    code: "config::invalid_alarm_name",
    chars: Chars::PrintableExcept(""),
    min: 1,
    max: 255,
    help: "a CloudWatch alarm name is 1 to 255 characters without control characters",
    reserved_prefix: None,
};

/// At most this many alarms per rollout: one `DescribeAlarms` call reads them all
/// (`AlarmNames` holds at most 100 in CloudWatch's model).
pub const MAX_ALARMS: usize = 100;

/// A rollout's percent steps: above 0, at most 100.
pub const MAX_STEP_PERCENT: f64 = 100.0;

/// At most this many steps per rollout (each one an `UpdateStage`; more is a typo, not a plan).
pub const MAX_STEPS: usize = 100;

/// The shortest bake and poll interval: one millisecond (the state counts milliseconds).
pub const MIN_ROLLOUT_DURATION: std::time::Duration = std::time::Duration::from_millis(1);

/// The longest bake: seven days (a rollout that bakes longer is left half-shifted for weeks).
pub const MAX_BAKE: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);
