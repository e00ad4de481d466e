//! The IAM OIDC provider.

use super::{
    Change, Desired, MANAGED_BY_TAG, MANAGED_BY_VALUE, Note, Observed, PlanError, PlanOptions,
};

pub(super) fn plan_provider(
    desired: &Desired,
    observed: &Observed,
    options: PlanOptions,
    changes: &mut Vec<Change>,
    notes: &mut Vec<Note>,
) -> Result<(), PlanError> {
    let input = desired.publishing.oidc_provider();
    let Some(seen) = &observed.provider else {
        changes.push(Change::CreateOidcProvider {
            url: input.url.clone(),
            client_ids: input.client_ids.clone(),
        });
        return Ok(());
    };
    let provider = desired.provider_arn.to_string();
    let ours = seen.tags.get(MANAGED_BY_TAG).map(String::as_str) == Some(MANAGED_BY_VALUE);
    let missing: Vec<String> = input
        .client_ids
        .iter()
        .filter(|id| !seen.client_ids.contains(*id))
        .cloned()
        .collect();
    // A provider irsa did not create is used as it is; adding an audience to it changes what
    // every other cluster trusting it accepts, so it needs the file's word.
    if !ours && !missing.is_empty() && !desired.adopt_provider {
        return Err(PlanError::ProviderNotOwned {
            provider,
            client_ids: seen.client_ids.clone(),
            missing,
        });
    }
    for client_id in &input.client_ids {
        if !seen.client_ids.contains(client_id) {
            changes.push(Change::AddClientId {
                provider: provider.clone(),
                client_id: client_id.clone(),
            });
        }
    }
    for client_id in &seen.client_ids {
        if input.client_ids.contains(client_id) {
            continue;
        }
        if ours && options.prune {
            changes.push(Change::RemoveClientId {
                provider: provider.clone(),
                client_id: client_id.clone(),
            });
        } else {
            notes.push(Note {
                subject: provider.clone(),
                message: format!(
                    "client ID {client_id} is registered but not in the file; kept ({})",
                    if ours {
                        "rerun with --prune to remove it"
                    } else {
                        "irsa did not create this provider"
                    }
                ),
            });
        }
    }
    Ok(())
}
