#include "queue/dedup_index.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <limits>

namespace mailroom {

std::string dedup_index::key_of(const std::string& dedup_id, const std::string& body,
                                bool content_based) {
  if (!dedup_id.empty() || !content_based)
    return dedup_id;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(body.data(), body.size(), digest, &size, EVP_sha256(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string key = "sha256:";
  for (unsigned i = 0; i < size; ++i) {
    key += hex[digest[i] >> 4];
    key += hex[digest[i] & 0xf];
  }
  return key;
}

const std::string* dedup_index::find(const std::string& key, int64_t now_ms,
                                     uint64_t* batch) const {
  auto it = keys_.find(key);
  if (it == keys_.end() || it->second.expires_at_ms <= now_ms)
    return nullptr;
  if (batch != nullptr)
    *batch = it->second.batch;
  return &it->second.id;
}

void dedup_index::insert(uint64_t first_seq, int64_t expires_at_ms, entries keys) {
  batch b{first_seq, expires_at_ms, {}};
  b.keys.reserve(keys.size());
  for (auto& [key, id] : keys) {
    b.keys.push_back(key);
    keys_[std::move(key)] = {std::move(id), expires_at_ms, first_seq};
  }
  batches_.push_back(std::move(b));
}

void dedup_index::add(const std::string& queue, uint64_t first_seq, int64_t expires_at_ms,
                      entries keys, write_batch& out) {
  if (keys.empty())
    return;
  out.put_dedup(queue, first_seq, codec::encode_dedup({expires_at_ms, keys}));
  insert(first_seq, expires_at_ms, std::move(keys));
}

void dedup_index::forget_batch(uint64_t first_seq) {
  auto it = std::find_if(batches_.rbegin(), batches_.rend(),
                         [&](const batch& b) { return b.first_seq == first_seq; });
  if (it == batches_.rend())
    return;
  for (const auto& key : it->keys)
    if (auto k = keys_.find(key); k != keys_.end() && k->second.batch == first_seq)
      keys_.erase(k);
  batches_.erase(std::next(it).base());
}

void dedup_index::expire(const std::string& queue, int64_t now_ms, write_batch& out) {
  bool dropped = false;
  // A window shortened by reconfiguration can leave a later batch expiring first; it waits for
  // the ones before it, which only delays forgetting (never forgets early).
  while (!batches_.empty() && batches_.front().expires_at_ms <= now_ms) {
    auto& b = batches_.front();
    for (const auto& key : b.keys)
      if (auto k = keys_.find(key); k != keys_.end() && k->second.batch == b.first_seq)
        keys_.erase(k);
    batches_.pop_front();
    dropped = true;
  }
  if (dropped)
    out.delete_dedup_before(queue, batches_.empty()
                                       ? static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                                       : batches_.front().first_seq);
}

void dedup_index::restore(uint64_t first_seq, codec::dedup_records records) {
  insert(first_seq, records.expires_at_ms, std::move(records.entries));
}

} // namespace mailroom
