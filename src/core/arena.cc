#include "core/arena.h"

#include <cstdlib>
#include <cstring>

namespace mamute::core {

Arena::~Arena() { Release(); }

void Arena::Release() noexcept {
  Block* b = first_;
  while (b != nullptr) {
    Block* n = b->next;
    std::free(b);
    b = n;
  }
  first_ = cur_ = nullptr;
  pos_ = 0;
  used_total_ = 0;
}

void* Arena::Allocate(std::size_t n, std::size_t align) noexcept {
  if (cur_ != nullptr) {
    // Align the absolute address, not the offset: blocks are only malloc-aligned.
    uintptr_t base = reinterpret_cast<uintptr_t>(Data(cur_));
    std::size_t p = ((base + pos_ + align - 1) & ~(uintptr_t{align} - 1)) - base;
    if (p + n <= cur_->size) {
      pos_ = p + n;
      return Data(cur_) + p;
    }
  }
  std::size_t size = n + align > block_size_ ? n + align : block_size_;
  auto* b = static_cast<Block*>(std::malloc(sizeof(Block) + size));
  if (b == nullptr) std::abort();
  b->next = nullptr;
  b->size = size;
  if (cur_ == nullptr) {
    first_ = b;
  } else {
    used_total_ += pos_;
    cur_->next = b;
  }
  cur_ = b;
  std::size_t p = (reinterpret_cast<uintptr_t>(Data(b)) + align - 1) / align * align -
                  reinterpret_cast<uintptr_t>(Data(b));
  pos_ = p + n;
  return Data(b) + p;
}

std::string_view Arena::Copy(std::string_view s) noexcept {
  if (s.empty()) return {};
  auto* p = static_cast<char*>(Allocate(s.size(), 1));
  std::memcpy(p, s.data(), s.size());
  return {p, s.size()};
}

void Arena::Reset() noexcept {
  if (first_ == nullptr) return;
  Block* b = first_->next;
  while (b != nullptr) {
    Block* n = b->next;
    std::free(b);
    b = n;
  }
  first_->next = nullptr;
  cur_ = first_;
  pos_ = 0;
  used_total_ = 0;
}

}  // namespace mamute::core
