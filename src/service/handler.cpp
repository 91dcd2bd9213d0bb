#include "service/handler.hpp"

#include <cstdio>
#include <cstdlib>

namespace sesame::service {

void HandlerTable::insert(Api api, const std::string& operation, Entry entry) {
  auto& t = table(api);
  if (!t.emplace(operation, std::move(entry)).second) {
    std::fprintf(stderr, "sesame: handler for %s registered twice\n", operation.c_str());
    std::abort();
  }
}

void HandlerTable::add(Api api, const std::string& operation, Handler handler) {
  insert(api, operation, Entry{std::move(handler), nullptr});
}

void HandlerTable::add_async(Api api, const std::string& operation, AsyncHandler handler) {
  insert(api, operation, Entry{nullptr, std::move(handler)});
}

const Handler* HandlerTable::find(Api api, std::string_view operation) const {
  const auto& t = table(api);
  auto it = t.find(std::string(operation));
  return it == t.end() || !it->second.sync ? nullptr : &it->second.sync;
}

const AsyncHandler* HandlerTable::find_async(Api api, std::string_view operation) const {
  const auto& t = table(api);
  auto it = t.find(std::string(operation));
  return it == t.end() || !it->second.async ? nullptr : &it->second.async;
}

}  // namespace sesame::service
