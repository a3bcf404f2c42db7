// A NodeStore in a fresh temp dir and a SecretBox with a fixed key, for the mgmt tests that need a
// real store (resources, tokens).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "auth/secret_box.h"
#include "store/node.h"

namespace mamute::mgmt {

class TempNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mgmt_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto node = store::NodeStore::Open({dir_});
    ASSERT_TRUE(node.has_value()) << node.error().ToString();
    node_ = std::move(*node);
    box_.emplace(*auth::SecretBox::FromKey(std::string(32, 'm')));
  }
  void TearDown() override {
    node_->Close();
    node_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string dir_;
  std::unique_ptr<store::NodeStore> node_;
  std::optional<auth::SecretBox> box_;
};

}  // namespace mamute::mgmt
