//! `stagecraft state list|show|rm` and `stagecraft force-unlock`: reading and editing the state
//! without touching AWS.

use miette::{IntoDiagnostic, Report};
use stagecraft_config::Address;
use stagecraft_core::state::State;

use crate::EXIT_OK;
use crate::args::StateCommand;
use crate::aws::AwsSettings;
use crate::backend::Backend;
use crate::load::{SecretMode, load};
use crate::settings::Settings;

/// The state backend the configuration names (the configuration must be valid).
pub(crate) fn state_backend(settings: &Settings) -> Result<Backend, Report> {
    let (loaded, _) = load(settings, SecretMode::Skip)?;
    let aws = AwsSettings::new(&settings.aws, &loaded.config);
    Ok(Backend::for_config(&loaded, &aws)?)
}

fn unknown_address(address: &str) -> Report {
    miette::miette!(
        code = "state::unknown_address",
        help = "`stagecraft state list` shows the recorded addresses",
        "{address} is not in the state"
    )
}

/// `stagecraft state list|show|rm`.
pub fn run(settings: &Settings, command: &StateCommand) -> Result<u8, Report> {
    let backend = state_backend(settings)?;
    match command {
        StateCommand::List => {
            if let Some(state) = backend.read()? {
                // In the order of the addresses' text, as the state file lists them.
                let mut addresses: Vec<String> =
                    state.resources.keys().map(Address::to_string).collect();
                addresses.sort_unstable();
                for address in addresses {
                    println!("{address}");
                }
            }
            Ok(EXIT_OK)
        }
        StateCommand::Show { address } => {
            let state = backend
                .read()?
                .unwrap_or_else(|| State::new("", String::new()));
            let resource = Address::parse(address)
                .ok()
                .and_then(|parsed| state.resources.get(&parsed))
                .ok_or_else(|| unknown_address(address))?;
            println!(
                "{}",
                serde_json::to_string_pretty(resource).into_diagnostic()?
            );
            Ok(EXIT_OK)
        }
        StateCommand::Rm { address } => {
            let lock = backend.lock("state rm", settings.lock_timeout)?;
            if backend.read_journal()?.is_some() {
                return Err(miette::miette!(
                    code = "state::journal",
                    help = "run `stagecraft apply --refresh` first: it folds the journal into the state and reads back what is in doubt",
                    "an interrupted apply left its journal beside the state"
                ));
            }
            let mut state = backend
                .read()?
                .ok_or_else(|| miette::miette!("there is no state yet"))?;
            let removed = Address::parse(address)
                .ok()
                .and_then(|parsed| state.resources.remove(&parsed));
            if removed.is_none() {
                return Err(unknown_address(address));
            }
            state.serial += 1;
            backend.write(&state, &lock)?;
            println!("Removed {address} from the state (AWS was not touched).");
            Ok(EXIT_OK)
        }
    }
}

/// `stagecraft force-unlock ID`.
pub fn force_unlock(settings: &Settings, id: &str) -> Result<u8, Report> {
    let backend = state_backend(settings)?;
    backend.force_unlock(id)?;
    println!("The state lock {id} has been released.");
    Ok(EXIT_OK)
}
