//! Resource addresses (`rest_apis.orders.stages.prod`) and `${address.attribute}` references.

use std::fmt;

/// The address of one resource in the desired state: the same grammar in `depends_on`, in
/// `${...}` references, on the command line (`--target`, `state show`) and in the state file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Address {
    /// `rest_apis.<api>.stages.<stage>`
    Stage {
        /// The key of the REST API table.
        api: String,
        /// The AWS stage name.
        stage: String,
    },
    /// `rest_apis.<api>.stages.<stage>.canary`
    Canary {
        /// The key of the REST API table.
        api: String,
        /// The AWS stage name of the stage the canary belongs to.
        stage: String,
    },
    /// `amplify_apps.<app>.branches.<branch>`
    Branch {
        /// The key of the Amplify app table.
        app: String,
        /// The Amplify branch name (may contain `/`).
        branch: String,
    },
}

/// The kind of resource an address names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceKind {
    /// An API Gateway stage.
    Stage,
    /// The canary release settings of an API Gateway stage.
    Canary,
    /// An Amplify branch.
    Branch,
}

impl ResourceKind {
    /// The name used in the state file and JSON plans.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Stage => "apigateway_stage",
            ResourceKind::Canary => "apigateway_canary",
            ResourceKind::Branch => "amplify_branch",
        }
    }
}

impl Address {
    /// Which kind of resource this address names.
    pub fn kind(&self) -> ResourceKind {
        match self {
            Address::Stage { .. } => ResourceKind::Stage,
            Address::Canary { .. } => ResourceKind::Canary,
            Address::Branch { .. } => ResourceKind::Branch,
        }
    }

    /// The stage a canary belongs to; `None` for other addresses.
    pub fn canary_parent(&self) -> Option<Address> {
        match self {
            Address::Canary { api, stage } => Some(Address::Stage {
                api: api.clone(),
                stage: stage.clone(),
            }),
            _ => None,
        }
    }

    /// Parses an address. The error says what was expected.
    pub fn parse(text: &str) -> Result<Address, AddressError> {
        if text.contains('"') {
            let segments = split_segments(text)?;
            let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
            return Address::from_segments(text, &parts);
        }
        // Without quotes a segment is whatever lies between dots: match the slices in place
        // rather than copying each into a String (plans and state files parse thousands).
        if text.split('.').any(str::is_empty) {
            return Err(AddressError::EmptySegment(text.to_string()));
        }
        let mut parts = [""; 5];
        let mut count = 0;
        for segment in text.split('.') {
            // More segments than the longest address has: not an address.
            let slot = parts.get_mut(count).ok_or_else(|| not_an_address(text))?;
            *slot = segment;
            count += 1;
        }
        Address::from_segments(text, &parts[..count])
    }

    fn from_segments(text: &str, parts: &[&str]) -> Result<Address, AddressError> {
        match parts {
            ["rest_apis", api, "stages", stage] => Ok(Address::Stage {
                api: api.to_string(),
                stage: stage.to_string(),
            }),
            ["rest_apis", api, "stages", stage, "canary"] => Ok(Address::Canary {
                api: api.to_string(),
                stage: stage.to_string(),
            }),
            ["amplify_apps", app, "branches", branch] => Ok(Address::Branch {
                app: app.to_string(),
                branch: branch.to_string(),
            }),
            _ => Err(not_an_address(text)),
        }
    }

    /// The address borrowed as its kind and two names, ordered exactly as addresses are.
    pub fn borrowed(&self) -> AddressRef<'_> {
        match self {
            Address::Stage { api, stage } => AddressRef::new(ResourceKind::Stage, api, stage),
            Address::Canary { api, stage } => AddressRef::new(ResourceKind::Canary, api, stage),
            Address::Branch { app, branch } => AddressRef::new(ResourceKind::Branch, app, branch),
        }
    }
}

/// The error for text that does not follow the address grammar.
fn not_an_address(text: &str) -> AddressError {
    AddressError::NotAnAddress(text.to_string())
}

/// Text that does not follow the address grammar (or, in a `${...}` reference, the grammar of
/// an address followed by an attribute). Each variant holds the whole text, which its message
/// quotes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Two dots in a row, or a dot at either end.
    #[error("empty segment in address `{0}`")]
    EmptySegment(String),
    /// A `"` that is never closed.
    #[error("unterminated quote in `{0}`")]
    UnterminatedQuote(String),
    /// Something other than a dot after a quoted segment.
    #[error("unexpected `{found}` in address `{text}`")]
    Unexpected {
        /// The character found after the closing quote.
        found: char,
        /// The whole text.
        text: String,
    },
    /// Well-formed segments that name no kind of resource.
    #[error(
        "`{0}` is not a resource address; expected `rest_apis.<api>.stages.<stage>`, \
         `rest_apis.<api>.stages.<stage>.canary` or `amplify_apps.<app>.branches.<branch>`"
    )]
    NotAnAddress(String),
    /// `${}`: a reference with nothing inside.
    #[error("empty reference `{0}`")]
    EmptyReference(String),
    /// A reference whose segments before the last do not form an address.
    #[error(
        "`{0}` does not name a resource attribute; expected `<address>.<attribute>` such as \
         `rest_apis.<api>.stages.<stage>.invoke_url`"
    )]
    NotAnAttribute(String),
}

/// An address borrowed from the configuration: which kind of resource, and the two names that
/// place it (API and stage, or app and branch). It orders, compares and displays exactly as the
/// [`Address`] it stands for, so walks over a large configuration can name resources without
/// copying their names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AddressRef<'a> {
    /// The kind of resource.
    pub kind: ResourceKind,
    /// The REST API key or the Amplify app key.
    pub parent: &'a str,
    /// The stage name or the branch name.
    pub name: &'a str,
}

impl<'a> AddressRef<'a> {
    /// The address of a resource of `kind` named `name` under `parent`.
    pub fn new(kind: ResourceKind, parent: &'a str, name: &'a str) -> AddressRef<'a> {
        AddressRef { kind, parent, name }
    }

    /// The owned address.
    pub fn to_address(self) -> Address {
        let (parent, name) = (self.parent.to_string(), self.name.to_string());
        match self.kind {
            ResourceKind::Stage => Address::Stage {
                api: parent,
                stage: name,
            },
            ResourceKind::Canary => Address::Canary {
                api: parent,
                stage: name,
            },
            ResourceKind::Branch => Address::Branch {
                app: parent,
                branch: name,
            },
        }
    }
}

/// Splits `a.b."c/d".e` into segments; a quoted segment may contain dots and slashes.
fn split_segments(text: &str) -> Result<Vec<String>, AddressError> {
    let mut segments = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        let mut segment = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some(c) => segment.push(c),
                    None => return Err(AddressError::UnterminatedQuote(text.to_string())),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == '.' {
                    break;
                }
                segment.push(c);
                chars.next();
            }
        }
        if segment.is_empty() {
            return Err(AddressError::EmptySegment(text.to_string()));
        }
        segments.push(segment);
        match chars.next() {
            None => return Ok(segments),
            Some('.') => continue,
            Some(found) => {
                return Err(AddressError::Unexpected {
                    found,
                    text: text.to_string(),
                });
            }
        }
    }
}

fn write_segment(f: &mut fmt::Formatter<'_>, segment: &str) -> fmt::Result {
    if !segment.is_empty()
        && segment
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        f.write_str(segment)
    } else {
        write!(f, "\"{segment}\"")
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.borrowed().fmt(f)
    }
}

impl fmt::Display for AddressRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ResourceKind::Stage | ResourceKind::Canary => {
                f.write_str("rest_apis.")?;
                write_segment(f, self.parent)?;
                f.write_str(".stages.")?;
                write_segment(f, self.name)?;
                if self.kind == ResourceKind::Canary {
                    f.write_str(".canary")?;
                }
                Ok(())
            }
            ResourceKind::Branch => {
                f.write_str("amplify_apps.")?;
                write_segment(f, self.parent)?;
                f.write_str(".branches.")?;
                write_segment(f, self.name)
            }
        }
    }
}

/// An attribute of a resource that another resource may refer to with `${address.attribute}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Attribute {
    /// A stage's `https://{id}.execute-api.{region}.amazonaws.com/{stage}` (`amazonaws.com.cn` in
    /// `cn-` regions).
    InvokeUrl,
    /// The deployment a stage (or canary) points at: known only after apply.
    DeploymentId,
    /// A stage's name.
    StageName,
    /// Where Amplify serves a branch: `https://{displayName}.{defaultDomain}`, the display
    /// name AWS answers for the branch under its app's default domain (known once recorded).
    Url,
    /// A branch's name.
    BranchName,
}

impl Attribute {
    /// The attributes a resource kind offers, by name.
    pub fn offered_by(kind: ResourceKind) -> &'static [(&'static str, Attribute)] {
        match kind {
            ResourceKind::Stage => &[
                ("invoke_url", Attribute::InvokeUrl),
                ("deployment_id", Attribute::DeploymentId),
                ("stage_name", Attribute::StageName),
            ],
            ResourceKind::Canary => &[("deployment_id", Attribute::DeploymentId)],
            ResourceKind::Branch => &[
                ("url", Attribute::Url),
                ("branch_name", Attribute::BranchName),
            ],
        }
    }

    /// The attribute's name as written in a reference.
    pub fn as_str(self) -> &'static str {
        match self {
            Attribute::InvokeUrl => "invoke_url",
            Attribute::DeploymentId => "deployment_id",
            Attribute::StageName => "stage_name",
            Attribute::Url => "url",
            Attribute::BranchName => "branch_name",
        }
    }
}

/// A typed `${address.attribute}` reference.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reference {
    /// The resource referred to.
    pub address: Address,
    /// Which of its attributes.
    pub attribute: Attribute,
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${{{}.{}}}", self.address, self.attribute.as_str())
    }
}

/// Splits `address.attribute` at its last segment, without checking that the attribute exists.
pub(crate) fn split_reference(text: &str) -> Result<(Address, String), AddressError> {
    let segments = split_segments(text)?;
    let Some((attribute, address)) = segments.split_last() else {
        return Err(AddressError::EmptyReference(text.to_string()));
    };
    let address_text = address
        .iter()
        .map(|s| {
            if s.contains('.') || s.contains('"') {
                format!("\"{s}\"")
            } else {
                s.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(".");
    let address = Address::parse(&address_text)
        .map_err(|_| AddressError::NotAnAttribute(text.to_string()))?;
    Ok((address, attribute.clone()))
}

/// An address is written as its text (`rest_apis.orders.stages.prod`), in the state file's
/// resource map and in plans alike.
impl serde::Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// An address is read from its text; text that does not follow the grammar is an error that
/// says what was expected.
impl<'de> serde::Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Address, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Address;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a resource address")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Address, E> {
                Address::parse(text).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests;
