// The configuration sets' event destinations as the event publisher needs them (stored
// form: v2 EventDestination, see configuration_sets.cpp).
#pragma once

#include "events/publisher.hpp"
#include "service/services.hpp"

namespace sesame::service {

/// Reads a configuration set's event destinations (cached configuration, see
/// Documents::find). A missing set has none.
events::DestinationLookup event_destination_lookup(Services& services);

}  // namespace sesame::service
