// Configuration sets and their event destinations, tracking, delivery, reputation,
// sending, suppression, VDM and archiving options. One document per set, stored in v2
// terms; the v1 operations read and write the same document through small translations
// (event types send<->SEND, TlsPolicy Require<->REQUIRE, SNSDestination<->SnsDestination).
#include <map>

#include "service/documents.hpp"
#include "service/event_destinations.hpp"
#include "service/sns.hpp"

namespace sesame::service {
namespace {
using base::ErrorCode;
using base::Result;

const std::map<std::string, std::string> kV1ToV2Event = {
    {"send", "SEND"},   {"reject", "REJECT"}, {"bounce", "BOUNCE"}, {"complaint", "COMPLAINT"},
    {"delivery", "DELIVERY"}, {"open", "OPEN"}, {"click", "CLICK"}, {"renderingFailure", "RENDERING_FAILURE"}};
const std::map<std::string, std::string> kV1ToV2Dimension = {
    {"messageTag", "MESSAGE_TAG"}, {"emailHeader", "EMAIL_HEADER"}, {"linkTag", "LINK_TAG"}};

std::string lookup(const std::map<std::string, std::string>& m, const std::string& k, bool reverse) {
  for (const auto& [a, b] : m) {
    if (!reverse && a == k) return b;
    if (reverse && b == k) return a;
  }
  return {};
}

std::string cs_missing(const std::string& n) { return "Configuration set <" + n + "> does not exist."; }
std::string ed_missing(const std::string& cs, const std::string& n) {
  return "Event destination " + n + " does not exist in configuration set " + cs + ".";
}

/// v1 EventDestination -> stored (v2) form.
json ed_from_v1(const json& e) {
  json out{{"Name", e.value("Name", "")}, {"Enabled", e.value("Enabled", false)}, {"MatchingEventTypes", json::array()}};
  for (const auto& t : e.value("MatchingEventTypes", json::array())) out["MatchingEventTypes"].push_back(lookup(kV1ToV2Event, t, false));
  if (e.contains("SNSDestination")) out["SnsDestination"] = json{{"TopicArn", e["SNSDestination"].value("TopicARN", "")}};
  if (e.contains("KinesisFirehoseDestination")) {
    const json& k = e["KinesisFirehoseDestination"];
    out["KinesisFirehoseDestination"] = json{{"IamRoleArn", k.value("IAMRoleARN", "")}, {"DeliveryStreamArn", k.value("DeliveryStreamARN", "")}};
  }
  if (e.contains("CloudWatchDestination")) {
    json dims = json::array();
    for (auto d : e["CloudWatchDestination"].value("DimensionConfigurations", json::array())) {
      d["DimensionValueSource"] = lookup(kV1ToV2Dimension, d.value("DimensionValueSource", ""), false);
      dims.push_back(d);
    }
    out["CloudWatchDestination"] = json{{"DimensionConfigurations", dims}};
  }
  return out;
}

/// Stored form -> v1 EventDestination (v2-only event types and destinations are left out).
json ed_to_v1(const json& e) {
  json out{{"Name", e.value("Name", "")}, {"Enabled", e.value("Enabled", false)}, {"MatchingEventTypes", json::array()}};
  for (const auto& t : e.value("MatchingEventTypes", json::array())) {
    std::string v1 = lookup(kV1ToV2Event, t, true);
    if (!v1.empty()) out["MatchingEventTypes"].push_back(v1);
  }
  if (e.contains("SnsDestination")) out["SNSDestination"] = json{{"TopicARN", e["SnsDestination"].value("TopicArn", "")}};
  if (e.contains("KinesisFirehoseDestination")) {
    const json& k = e["KinesisFirehoseDestination"];
    out["KinesisFirehoseDestination"] = json{{"IAMRoleARN", k.value("IamRoleArn", "")}, {"DeliveryStreamARN", k.value("DeliveryStreamArn", "")}};
  }
  if (e.contains("CloudWatchDestination")) {
    json dims = json::array();
    for (auto d : e["CloudWatchDestination"].value("DimensionConfigurations", json::array())) {
      d["DimensionValueSource"] = lookup(kV1ToV2Dimension, d.value("DimensionValueSource", ""), true);
      dims.push_back(d);
    }
    out["CloudWatchDestination"] = json{{"DimensionConfigurations", dims}};
  }
  return out;
}

base::Status check_destination(const json& e) {
  const std::string name = e.value("Name", "");
  if (!valid_name(name))
    return base::make_error(ErrorCode::kInvalidParameter,
                            "Invalid event destination name <" + name + ">: use 1 to 64 letters, digits, '_' or '-'.");
  if (e.value("MatchingEventTypes", json::array()).empty())
    return base::make_error(ErrorCode::kInvalidParameter, "MatchingEventTypes must not be empty.");
  int kinds = 0;
  for (const char* k : {"SnsDestination", "KinesisFirehoseDestination", "CloudWatchDestination", "EventBridgeDestination",
                        "PinpointDestination"})
    kinds += e.contains(k) ? 1 : 0;
  if (kinds != 1)
    return base::make_error(ErrorCode::kInvalidParameter, "An event destination needs exactly one destination.");
  if (e.contains("SnsDestination")) {
    std::string arn = e["SnsDestination"].value("TopicArn", "");
    if (arn.rfind("arn:aws:sns:", 0) != 0 || std::count(arn.begin(), arn.end(), ':') != 5)
      return base::make_error(ErrorCode::kInvalidParameter, "SNS topic <" + arn + "> not found.", "sns-destination");
  }
  if (e.contains("CloudWatchDestination") &&
      e["CloudWatchDestination"].value("DimensionConfigurations", json::array()).empty())
    return base::make_error(ErrorCode::kInvalidParameter, "CloudWatch destinations need dimension configurations.",
                            "cloudwatch-destination");
  return base::ok_status();
}

base::Status check_cs_name(const std::string& name) {
  if (!valid_name(name))
    return base::make_error(ErrorCode::kInvalidParameter,
                            "Configuration set name <" + name + "> is invalid: use 1 to 64 letters, digits, '_' or '-'.",
                            "configuration-set");
  return base::ok_status();
}

class ConfigurationSets {
 public:
  explicit ConfigurationSets(Services& s) : docs_(s) {}

  Result<json> create(const Caller& c, const std::string& name, json doc) {
    SESAME_CHECK(check_cs_name(name));
    SESAME_CHECK(check_tags(doc.value("Tags", json::array())));
    doc["Name"] = name;
    if (!doc.contains("event_destinations")) doc["event_destinations"] = json::array();
    SESAME_CHECK(docs_.create(c, kind::kConfigurationSet, name, doc, "Configuration set <" + name + "> already exists."));
    return json::object();
  }
  Result<json> get(const Caller& c, const std::string& name) {
    return docs_.require(c, kind::kConfigurationSet, name, cs_missing(name));
  }
  Result<json> remove(const Caller& c, const std::string& name) {
    SESAME_ASSIGN(auto erased, docs_.erase(c, kind::kConfigurationSet, name));
    if (!erased) return base::make_error(ErrorCode::kNotFound, cs_missing(name), kind::kConfigurationSet);
    return json::object();
  }
  Result<json> change(const Caller& c, const std::string& name, const std::function<base::Status(json&)>& f) {
    SESAME_CHECK(docs_.update(c, kind::kConfigurationSet, name, f, cs_missing(name)));
    return json::object();
  }
  /// Adds, replaces or removes one event destination (stored form). An SNS destination's
  /// topic must exist in the caller's account and region; on creation it gets SES's
  /// plain-text probe notification, queued in the same transaction.
  Result<json> destination(const Caller& c, const std::string& cs, const std::string& name, const json* ed, bool create) {
    if (ed) SESAME_CHECK(check_destination(*ed));
    SESAME_CHECK(docs_.transact(c, [&](DocTxn& t) -> base::Status {
      SESAME_ASSIGN(auto d, t.get(kind::kConfigurationSet, cs));
      if (!d) return base::make_error(ErrorCode::kNotFound, cs_missing(cs), kind::kConfigurationSet);
      json& list = (*d)["event_destinations"];
      bool found = false;
      for (std::size_t i = 0; i < list.size() && !found; ++i) {
        if (list[i].value("Name", "") != name) continue;
        if (create)
          return base::make_error(ErrorCode::kAlreadyExists,
                                  "Event destination " + name + " already exists in configuration set " + cs + ".",
                                  "event-destination");
        if (ed) list[i] = *ed;
        else list.erase(i);
        found = true;
      }
      if (!found && !create) return base::make_error(ErrorCode::kNotFound, ed_missing(cs, name), "event-destination");
      if (!found) {
        if (list.size() >= 10)
          return base::make_error(ErrorCode::kLimitExceeded, "A configuration set can have at most 10 event destinations.");
        list.push_back(*ed);
      }
      if (ed && ed->contains("SnsDestination")) {
        const std::string arn = (*ed)["SnsDestination"].value("TopicArn", "");
        SESAME_ASSIGN(auto topic, sns_topic(t, c, arn));
        if (!topic) return base::make_error(ErrorCode::kInvalidParameter, "SNS topic <" + arn + "> not found.", "sns-destination");
        if (create)
          for (const auto& w : events::sns_notifications(*topic, "", kSnsProbeMessage, t.now()))
            SESAME_CHECK(t.txn().insert_webhook(w));
      }
      return t.put(kind::kConfigurationSet, cs, *d);
    }));
    if (ed && ed->contains("SnsDestination") && docs_.services().webhooks_queued) docs_.services().webhooks_queued();
    return json::object();
  }
  /// `contains` filters by a substring of the name (v2 CONFIGURATION_SET_NAME_CONTAINS).
  Result<Documents::Page> page(const Caller& c, const json& token, std::size_t size, const std::string& contains = {}) {
    return docs_.page(c, kind::kConfigurationSet, token, size,
                      [&](const Named& n) { return contains.empty() || n.name.find(contains) != std::string::npos; });
  }

 private:
  Documents docs_;
};

std::size_t page_size(const json& in, const char* member, std::size_t fallback) {
  if (!in.contains(member)) return fallback;
  return std::size_t(std::max(1, std::min(1000, in[member].get<int>())));
}

void register_v1(HandlerTable& t, const std::shared_ptr<ConfigurationSets>& sets) {
  const Api v1 = Api::kV1;
  t.add(v1, "CreateConfigurationSet", [sets](const Caller& c, const json& in) {
    std::string name = in["ConfigurationSet"].value("Name", "");
    return sets->create(c, name, json{{"SendingOptions", {{"SendingEnabled", true}}}});
  });
  t.add(v1, "DeleteConfigurationSet", [sets](const Caller& c, const json& in) { return sets->remove(c, str(in, "ConfigurationSetName")); });
  t.add(v1, "DescribeConfigurationSet", [sets](const Caller& c, const json& in) -> Result<json> {
    SESAME_ASSIGN(auto d, sets->get(c, str(in, "ConfigurationSetName")));
    json out{{"ConfigurationSet", {{"Name", d["Name"]}}}};
    for (const auto& a : in.value("ConfigurationSetAttributeNames", json::array())) {
      std::string attr = a.get<std::string>();
      if (attr == "eventDestinations") {
        json eds = json::array();
        for (const auto& e : d["event_destinations"]) eds.push_back(ed_to_v1(e));
        out["EventDestinations"] = eds;
      } else if (attr == "trackingOptions" && d.contains("TrackingOptions")) {
        out["TrackingOptions"] = json{{"CustomRedirectDomain", d["TrackingOptions"].value("CustomRedirectDomain", "")}};
      } else if (attr == "deliveryOptions" && d.contains("DeliveryOptions")) {
        out["DeliveryOptions"] = json{{"TlsPolicy", d["DeliveryOptions"].value("TlsPolicy", "OPTIONAL") == "REQUIRE" ? "Require" : "Optional"}};
      } else if (attr == "reputationOptions") {
        json r = d.value("ReputationOptions", json::object());
        json ro{{"SendingEnabled", d.value("SendingOptions", json::object()).value("SendingEnabled", true)},
                {"ReputationMetricsEnabled", r.value("ReputationMetricsEnabled", false)}};
        if (r.contains("LastFreshStart")) ro["LastFreshStart"] = r["LastFreshStart"];
        out["ReputationOptions"] = ro;
      }
    }
    return out;
  });
  t.add(v1, "ListConfigurationSets", [sets](const Caller& c, const json& in) -> Result<json> {
    SESAME_ASSIGN(auto page, sets->page(c, in.value("NextToken", json()), page_size(in, "MaxItems", 1000)));
    json items = json::array();
    for (const auto& n : page.items) items.push_back(json{{"Name", n.name}});
    json out{{"ConfigurationSets", items}};
    if (page.next_token) out["NextToken"] = *page.next_token;
    return out;
  });
  t.add(v1, "CreateConfigurationSetEventDestination", [sets](const Caller& c, const json& in) {
    json ed = ed_from_v1(in["EventDestination"]);
    return sets->destination(c, str(in, "ConfigurationSetName"), ed["Name"], &ed, true);
  });
  t.add(v1, "UpdateConfigurationSetEventDestination", [sets](const Caller& c, const json& in) {
    json ed = ed_from_v1(in["EventDestination"]);
    return sets->destination(c, str(in, "ConfigurationSetName"), ed["Name"], &ed, false);
  });
  t.add(v1, "DeleteConfigurationSetEventDestination", [sets](const Caller& c, const json& in) {
    return sets->destination(c, str(in, "ConfigurationSetName"), str(in, "EventDestinationName"), nullptr, false);
  });
  auto tracking = [sets](bool create) {
    return [sets, create](const Caller& c, const json& in) {
      std::string domain = in["TrackingOptions"].value("CustomRedirectDomain", "");
      return sets->change(c, str(in, "ConfigurationSetName"), [&](json& d) -> base::Status {
        if (create && d.contains("TrackingOptions"))
          return base::make_error(ErrorCode::kAlreadyExists, "Tracking options already exist for this configuration set.", "tracking-options");
        if (!create && !d.contains("TrackingOptions"))
          return base::make_error(ErrorCode::kNotFound, "Tracking options do not exist for this configuration set.", "tracking-options");
        d["TrackingOptions"] = json{{"CustomRedirectDomain", domain}};
        return base::ok_status();
      });
    };
  };
  t.add(v1, "CreateConfigurationSetTrackingOptions", tracking(true));
  t.add(v1, "UpdateConfigurationSetTrackingOptions", tracking(false));
  t.add(v1, "DeleteConfigurationSetTrackingOptions", [sets](const Caller& c, const json& in) {
    return sets->change(c, str(in, "ConfigurationSetName"), [&](json& d) -> base::Status {
      if (!d.contains("TrackingOptions"))
        return base::make_error(ErrorCode::kNotFound, "Tracking options do not exist for this configuration set.", "tracking-options");
      d.erase("TrackingOptions");
      return base::ok_status();
    });
  });
  t.add(v1, "PutConfigurationSetDeliveryOptions", [sets](const Caller& c, const json& in) {
    return sets->change(c, str(in, "ConfigurationSetName"), [&](json& d) {
      std::string tls = in.value("DeliveryOptions", json::object()).value("TlsPolicy", "Optional");
      d["DeliveryOptions"]["TlsPolicy"] = tls == "Require" ? "REQUIRE" : "OPTIONAL";
      return base::ok_status();
    });
  });
  t.add(v1, "UpdateConfigurationSetReputationMetricsEnabled", [sets](const Caller& c, const json& in) {
    return sets->change(c, str(in, "ConfigurationSetName"), [&](json& d) {
      d["ReputationOptions"]["ReputationMetricsEnabled"] = flag(in, "Enabled", false);
      return base::ok_status();
    });
  });
  t.add(v1, "UpdateConfigurationSetSendingEnabled", [sets](const Caller& c, const json& in) {
    return sets->change(c, str(in, "ConfigurationSetName"), [&](json& d) {
      d["SendingOptions"]["SendingEnabled"] = flag(in, "Enabled", true);
      return base::ok_status();
    });
  });
}

void register_v2(HandlerTable& t, const std::shared_ptr<ConfigurationSets>& sets) {
  const Api v2 = Api::kV2;
  static const char* kOptions[] = {"TrackingOptions", "DeliveryOptions", "ReputationOptions", "SendingOptions",
                                   "SuppressionOptions", "VdmOptions", "ArchivingOptions", "Tags"};
  t.add(v2, "CreateConfigurationSet", [sets](const Caller& c, const json& in) {
    json doc = json::object();
    for (const char* o : kOptions)
      if (in.contains(o)) doc[o] = in[o];
    if (!doc.contains("SendingOptions")) doc["SendingOptions"] = json{{"SendingEnabled", true}};
    return sets->create(c, str(in, "ConfigurationSetName"), doc);
  });
  t.add(v2, "GetConfigurationSet", [sets](const Caller& c, const json& in) -> Result<json> {
    SESAME_ASSIGN(auto d, sets->get(c, str(in, "ConfigurationSetName")));
    json out{{"ConfigurationSetName", d["Name"]}, {"Tags", d.value("Tags", json::array())}};
    for (const char* o : kOptions)
      if (d.contains(o) && std::string(o) != "Tags") out[o] = d[o];
    if (!out.contains("ReputationOptions")) out["ReputationOptions"] = json{{"ReputationMetricsEnabled", false}};
    return out;
  });
  t.add(v2, "ListConfigurationSets", [sets](const Caller& c, const json& in) -> Result<json> {
    const json filter = in.value("Filter", json::object());
    SESAME_ASSIGN(auto page, sets->page(c, in.value("NextToken", json()), page_size(in, "PageSize", 100),
                                        filter.value("CONFIGURATION_SET_NAME_CONTAINS", "")));
    json items = json::array();
    for (const auto& n : page.items) items.push_back(n.name);
    json out{{"ConfigurationSets", items}};
    if (page.next_token) out["NextToken"] = *page.next_token;
    return out;
  });
  t.add(v2, "DeleteConfigurationSet", [sets](const Caller& c, const json& in) { return sets->remove(c, str(in, "ConfigurationSetName")); });
  t.add(v2, "CreateConfigurationSetEventDestination", [sets](const Caller& c, const json& in) {
    json ed = in["EventDestination"];
    ed["Name"] = str(in, "EventDestinationName");
    if (!ed.contains("Enabled")) ed["Enabled"] = false;
    return sets->destination(c, str(in, "ConfigurationSetName"), ed["Name"], &ed, true);
  });
  t.add(v2, "UpdateConfigurationSetEventDestination", [sets](const Caller& c, const json& in) {
    json ed = in["EventDestination"];
    ed["Name"] = str(in, "EventDestinationName");
    if (!ed.contains("Enabled")) ed["Enabled"] = false;
    return sets->destination(c, str(in, "ConfigurationSetName"), ed["Name"], &ed, false);
  });
  t.add(v2, "DeleteConfigurationSetEventDestination", [sets](const Caller& c, const json& in) {
    return sets->destination(c, str(in, "ConfigurationSetName"), str(in, "EventDestinationName"), nullptr, false);
  });
  t.add(v2, "GetConfigurationSetEventDestinations", [sets](const Caller& c, const json& in) -> Result<json> {
    SESAME_ASSIGN(auto d, sets->get(c, str(in, "ConfigurationSetName")));
    return json{{"EventDestinations", d["event_destinations"]}};
  });
  auto put_option = [sets](const char* option) {
    return [sets, option](const Caller& c, const json& in) {
      return sets->change(c, str(in, "ConfigurationSetName"), [&](json& d) {
        // Most Put*Options requests carry the option's members flat; VdmOptions nests them.
        json value = in.contains(option) ? in[option] : in;
        value.erase("ConfigurationSetName");
        d[option] = value;
        return base::ok_status();
      });
    };
  };
  t.add(v2, "PutConfigurationSetDeliveryOptions", put_option("DeliveryOptions"));
  t.add(v2, "PutConfigurationSetSendingOptions", put_option("SendingOptions"));
  t.add(v2, "PutConfigurationSetSuppressionOptions", put_option("SuppressionOptions"));
  t.add(v2, "PutConfigurationSetTrackingOptions", put_option("TrackingOptions"));
  t.add(v2, "PutConfigurationSetVdmOptions", put_option("VdmOptions"));
  t.add(v2, "PutConfigurationSetArchivingOptions", put_option("ArchivingOptions"));
  t.add(v2, "PutConfigurationSetReputationOptions", [sets](const Caller& c, const json& in) {
    return sets->change(c, str(in, "ConfigurationSetName"), [&](json& d) {
      d["ReputationOptions"]["ReputationMetricsEnabled"] = flag(in, "ReputationMetricsEnabled", false);
      return base::ok_status();
    });
  });
}
}  // namespace

void register_configuration_sets(HandlerTable& t, Services& s) {
  auto sets = std::make_shared<ConfigurationSets>(s);
  register_v1(t, sets);
  register_v2(t, sets);
}

}  // namespace sesame::service

namespace sesame::service {

events::DestinationLookup event_destination_lookup(Services& services) {
  return [&services](const std::string& account, const std::string& region,
                     const std::string& set) -> base::Result<std::vector<events::Destination>> {
    Documents docs(services);
    Caller c{account, region, "", ""};
    SESAME_ASSIGN(auto doc, docs.find(c, kind::kConfigurationSet, set));
    std::vector<events::Destination> out;
    if (!doc) return out;
    for (const auto& e : doc->value("event_destinations", json::array())) {
      events::Destination d;
      d.name = e.value("Name", "");
      d.enabled = e.value("Enabled", false);
      for (const auto& t : e.value("MatchingEventTypes", json::array()))
        if (t.is_string()) d.matching.push_back(t.get<std::string>());
      if (e.contains("SnsDestination")) d.sns_topic_arn = e["SnsDestination"].value("TopicArn", "");
      if (e.contains("KinesisFirehoseDestination"))
        d.firehose_stream = events::stream_name(e["KinesisFirehoseDestination"].value("DeliveryStreamArn", ""));
      if (e.contains("CloudWatchDestination")) {
        d.cloudwatch = true;
        for (const auto& dim : e["CloudWatchDestination"].value("DimensionConfigurations", json::array()))
          d.dimensions.push_back(events::Dimension{dim.value("DimensionName", ""), dim.value("DimensionValueSource", ""),
                                                   dim.value("DefaultDimensionValue", "")});
      }
      out.push_back(std::move(d));
    }
    return out;
  };
}

}  // namespace sesame::service
