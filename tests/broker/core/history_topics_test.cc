// HistoryTopics: topics added once, listed by pattern, from several threads at once.
#include "broker/core/history_topics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

namespace herald::broker::core {
namespace {

TEST(HistoryTopicsTest, AddsOnceAndListsByPattern) {
  HistoryTopics topics;
  EXPECT_TRUE(topics.add("prices.AAPL"));
  EXPECT_FALSE(topics.add("prices.AAPL"));
  EXPECT_TRUE(topics.add("prices.MSFT"));
  EXPECT_TRUE(topics.add("news.AAPL"));
  std::vector<std::string> found;
  topics.matching("prices.*", found);
  std::sort(found.begin(), found.end());
  EXPECT_EQ(found, (std::vector<std::string>{"prices.AAPL", "prices.MSFT"}));
  found.clear();
  topics.matching(">", found);
  EXPECT_EQ(found.size(), 3u);
  found.clear();
  topics.matching("*.AAPL.x", found);
  EXPECT_TRUE(found.empty());
}

TEST(HistoryTopicsTest, ConcurrentAddsKeepEveryTopicOnce) {
  HistoryTopics topics;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&topics] {
      for (int i = 0; i < 500; ++i) (void)topics.add("t." + std::to_string(i));
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(topics.size(), 500u);
}

}  // namespace
}  // namespace herald::broker::core
