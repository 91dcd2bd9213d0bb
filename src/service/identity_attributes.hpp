// Identity attribute changes both API versions make the same way: sending-authorization
// policies, custom MAIL FROM, feedback forwarding.
#pragma once

#include <string>

#include "service/documents.hpp"

namespace sesame::service {

enum class PolicyWrite { kUpsert, kCreate, kUpdate };

/// Validates and stores a policy (JSON with a Statement, at most 4 KB, 20 per identity).
base::Status put_policy(json& identity_doc, const std::string& name, const std::string& policy, PolicyWrite mode);
/// Sets (or, with an empty domain, clears) the custom MAIL FROM domain; it must be a
/// subdomain of the identity's domain. `behavior` is USE_DEFAULT_VALUE or REJECT_MESSAGE.
base::Status set_mail_from(Services& s, json& identity_doc, const std::string& identity, const std::string& domain,
                           const std::string& behavior);
/// Forwarding can be turned off only when bounce and complaint topics are both set.
base::Status set_feedback_forwarding(json& identity_doc, bool enabled);

}  // namespace sesame::service
