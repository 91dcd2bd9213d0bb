// Fakes for unit tests: a settable clock, a resolver answering from a table, and a fresh
// directory per test.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <string>

#include "base/clock.hpp"
#include "dns/resolver.hpp"

namespace sesame::testing {

class FakeClock final : public base::Clock {
 public:
  explicit FakeClock(base::EpochSeconds t = 1700000000) : t_(t) {}
  base::EpochSeconds now() const override { return t_; }
  void set(base::EpochSeconds t) { t_ = t; }
  void advance(double s) { t_ += s; }

 private:
  base::EpochSeconds t_;
};

/// Answers TXT/MX/A from tables; names listed in `temp_fail` answer "could not tell".
class StaticResolver final : public dns::Resolver {
 public:
  dns::TxtAnswer txt(const std::string& name) override {
    std::lock_guard lk(mu_);
    if (temp_fail.count(name)) return {dns::Outcome::kTempFail, {}, "static temp failure"};
    auto it = txt_records.find(name);
    if (it == txt_records.end()) return {dns::Outcome::kNotFound, {}, ""};
    return {dns::Outcome::kFound, {it->second}, ""};
  }
  dns::MxAnswer mx(const std::string& name) override {
    std::lock_guard lk(mu_);
    if (temp_fail.count(name)) return {dns::Outcome::kTempFail, {}, "static temp failure"};
    auto it = mx_records.find(name);
    if (it == mx_records.end()) return {dns::Outcome::kNotFound, {}, ""};
    return {dns::Outcome::kFound, {dns::MxRecord{10, it->second}}, ""};
  }
  dns::AddressAnswer addresses(const std::string& name) override {
    std::lock_guard lk(mu_);
    if (temp_fail.count(name)) return {dns::Outcome::kTempFail, {}, "static temp failure"};
    auto it = a_records.find(name);
    if (it == a_records.end()) return {dns::Outcome::kNotFound, {}, ""};
    return {dns::Outcome::kFound, {it->second}, ""};
  }
  std::map<std::string, std::string> txt_records;
  std::map<std::string, std::string> mx_records;
  std::map<std::string, std::string> a_records;
  std::map<std::string, bool> temp_fail;

 private:
  std::mutex mu_;
};

/// An empty directory under the system's temp directory named after `prefix`, the process
/// and the running test (the caller removes it).
inline std::filesystem::path fresh_test_dir(const std::string& prefix) {
  auto dir = std::filesystem::temp_directory_path() /
             (prefix + std::to_string(::getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace sesame::testing
