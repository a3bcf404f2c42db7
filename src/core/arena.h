// Arena: a bump allocator for one request's scratch data. Reset() between
// requests keeps the first block, so a steady state allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mamute::core {

class Arena {
 public:
  explicit Arena(std::size_t block_size = 16 * 1024) noexcept : block_size_(block_size) {}
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  /// Aligned storage for n bytes, valid until Reset(). Never null (aborts on OOM).
  void* Allocate(std::size_t n, std::size_t align = alignof(std::max_align_t)) noexcept;
  /// A copy of s in the arena.
  std::string_view Copy(std::string_view s) noexcept;
  /// Frees every block but the first and rewinds.
  void Reset() noexcept;
  /// Frees every block, the first too: an idle owner holds no memory (the next
  /// Allocate mallocs a block again).
  void Release() noexcept;
  std::size_t bytes_used() const noexcept { return used_total_ + (cur_ ? pos_ : 0); }

 private:
  struct Block {
    Block* next;
    std::size_t size;
    // data follows
  };
  uint8_t* Data(Block* b) const noexcept { return reinterpret_cast<uint8_t*>(b + 1); }

  std::size_t block_size_;
  Block* first_ = nullptr;
  Block* cur_ = nullptr;
  std::size_t pos_ = 0;
  std::size_t used_total_ = 0;
};

}  // namespace mamute::core
