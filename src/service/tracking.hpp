// Open and click tracking (issue 6 item 8; SES Developer Guide "Configuring open and click
// tracking"): for messages sent with a configuration set that has an enabled event
// destination for OPEN or CLICK events, the HTML part's http(s) links are rewritten through
// signed tracking URLs (links with the ses:no-track attribute are left alone; ses:tags="a:b;c:d"
// become the click's linkTags) and an open pixel is added. GET /t/o/... and /t/c/... record
// Open and Click events (ipAddress, userAgent, link, linkTags) and answer with the pixel or a
// redirect; a URL whose signature does not verify is 404. The URLs are stateless: the
// message id, link and tags travel in them under an HMAC-SHA256 made with a key of the
// server's own (<data_dir>/tracking.key, mode 0600).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "service/services.hpp"

namespace sesame::service {

struct TrackingLinks {
  std::string base;        // "http://127.0.0.1:4579" or the custom redirect domain, no trailing '/'
  std::string message_id;  // SES message id
  std::string key;         // HMAC key
  bool opens = false, clicks = false;
  std::size_t max_links = 1000;  // links past this are left as they are
};

/// The HTML with its links rewritten and the open pixel added, as `t` asks.
std::string track_html(std::string_view html, const TrackingLinks& t);

/// The tracking base for a configuration set (its document): the custom redirect domain or
/// `public_url`, and which kinds are tracked; nullopt when neither opens nor clicks are.
std::optional<TrackingLinks> tracking_for(const json& configuration_set, const std::string& public_url);

struct TrackingHit {
  bool open = false;       // else a click
  std::string message_id;
  std::string link;        // clicks
  std::string link_tags;   // "a:b;c:d"
};

/// A /t/... path (without the query) read back and checked; nullopt when it is not one of
/// ours or its signature does not verify.
std::optional<TrackingHit> parse_tracking_path(std::string_view path, const std::string& key);

/// Records an Open or Click event for the hit; false when the message is unknown.
base::Result<bool> record_hit(Services& services, const TrackingHit& hit, const std::string& ip,
                              const std::string& user_agent);

}  // namespace sesame::service
