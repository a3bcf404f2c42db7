// First-start bootstrap of the management plane (docs/management-api.md, "Bootstrap").
#pragma once

#include "mamute/status.h"
#include "store/node.h"

namespace mamute::mgmt {

/// Runs at start-up, right after the NodeStore is opened and the node master key loaded
/// (main loads it once: auth::SecretBox::Load), before any shard serves:
///  - on a data dir never bootstrapped: creates an organization, a project, an admin user
///    (MAMUTE_ADMIN_EMAIL, default admin@localhost; password MAMUTE_ADMIN_PASSWORD or random)
///    of role admin in that project, and the project's API key (MAMUTE_API_KEY or random), in one synced batch. A generated
///    password or key is printed ONCE to stderr; values taken from the environment are not
///    printed. Later starts print nothing secret.
/// Logs the reason and returns it on failure (main exits).
Status Bootstrap(store::NodeStore& node);

}  // namespace mamute::mgmt
