// The identity resource (email addresses and domains) shared by the v1 and v2 views:
// its document, Easy DKIM / BYODKIM set-up, verification status through DNS (the
// _amazonses TXT token for v1, the DKIM selector records for v2) and the records to publish.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "service/documents.hpp"

namespace sesame::service::identity {

bool is_email(const std::string& identity);
/// Validates and canonicalizes: the domain part is lowercased and a trailing dot dropped.
/// kInvalidParameter with SES's wording on bad input.
base::Result<std::string> normalize(const std::string& identity);
std::string domain_of(const std::string& identity);

json new_document(bool is_domain, double now);

/// Generates an Easy DKIM key (1024 or 2048 bits) and three selector tokens into doc["dkim"].
base::Status setup_easy_dkim(Services& s, const Caller& c, const std::string& domain, json& doc, int bits);
/// BYODKIM: imports the private key for `selector` into doc["dkim"].
base::Status setup_byodkim(Services& s, const Caller& c, const std::string& domain, json& doc,
                           const std::string& selector, const std::string& private_key);
/// Removes DKIM key files referenced by the document (after the identity is deleted).
void forget_keys(Services& s, const Caller& c, const std::string& name, const json& doc);

/// v2 statuses: PENDING, SUCCESS, FAILED, TEMPORARY_FAILURE, NOT_STARTED.
std::string verification_status(const json& doc);
std::string dkim_status(const json& doc);
bool verified_for_sending(const json& doc);
/// "SUCCESS" -> "Success", "TEMPORARY_FAILURE" -> "TemporaryFailure" (v1 names).
std::string v1_status(const std::string& v2_status);

/// Re-checks DNS for whatever is not yet final; true if the document changed.
bool recheck(Services& s, const std::string& name, json& doc, double now);
/// Loads an identity, re-checking DNS when due and persisting a changed status.
base::Result<std::optional<json>> load_fresh(Documents& docs, const Caller& c, const std::string& name);

struct DnsRecord {
  std::string type;  // "TXT" / "MX"
  std::string name;
  std::string value;
  std::string purpose;
};
/// Exactly the records to publish for this identity.
std::vector<DnsRecord> records(const std::string& name, const json& doc, const Settings& settings);

/// Operator override: marks the identity (and its DKIM, when present) verified.
void force_verified(json& doc, double now);

}  // namespace sesame::service::identity
