// Ring: one io_uring instance owned by one thread (its shard). Wraps liburing
// with the checked completion handle and the provided-buffer ring.
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>

#include "mamute/status.h"

namespace mamute::core {

/// What a completion belongs to. Stored in the top byte of user_data.
enum class Op : uint8_t {
  kNone = 0,
  kAccept,     ///< multishot accept on a listener
  kRecv,       ///< multishot recv of a connection
  kSend,       ///< send/writev of a connection
  kClose,      ///< close of a connection fd
  kCancel,     ///< async cancel (result ignored)
  kTick,       ///< the shard's periodic timeout
  kMsg,        ///< a cross-shard message delivered by IORING_OP_MSG_RING (low bits: Message*)
  kMsgSent,    ///< the sender side completion of IORING_OP_MSG_RING
  kWakeup,     ///< eventfd read: the fallback mailbox has messages
  kFile,       ///< a file operation of the store
  kUser,       ///< first free value for other modules
};

/// user_data = [op:8][generation:24][slot:32]. A completion whose generation no
/// longer matches its slot's is stale (the slot was reused) and is dropped.
struct Handle {
  static constexpr uint64_t Make(Op op, uint32_t slot, uint32_t gen) noexcept {
    return (uint64_t{static_cast<uint8_t>(op)} << 56) | (uint64_t{gen & 0xffffff} << 32) | slot;
  }
  static constexpr Op OpOf(uint64_t ud) noexcept { return static_cast<Op>(ud >> 56); }
  static constexpr uint32_t GenOf(uint64_t ud) noexcept { return static_cast<uint32_t>(ud >> 32) & 0xffffff; }
  static constexpr uint32_t SlotOf(uint64_t ud) noexcept { return static_cast<uint32_t>(ud); }
  /// Pointer payloads (messages): user-space pointers fit in 56 bits on x86-64 and arm64.
  static uint64_t MakePtr(Op op, const void* p) noexcept {
    return (uint64_t{static_cast<uint8_t>(op)} << 56) | reinterpret_cast<uintptr_t>(p);
  }
  static void* PtrOf(uint64_t ud) noexcept {
    return reinterpret_cast<void*>(static_cast<uintptr_t>(ud & ((uint64_t{1} << 56) - 1)));
  }
};

struct RingFeatures {
  bool msg_ring = false;         ///< IORING_OP_MSG_RING
  bool recv_multishot = false;   ///< multishot recv with provided buffers
  bool accept_multishot = false;
  bool defer_taskrun = false;    ///< the ring was set up with SINGLE_ISSUER|DEFER_TASKRUN
};

class Ring {
 public:
  Ring() = default;
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  /// Creates the ring on the calling thread (it becomes the single issuer).
  Status Init(unsigned entries);

  /// An SQE; submits pending ones first when the SQ is full. Never null.
  io_uring_sqe* Sqe() noexcept;
  /// Submits pending SQEs and waits for at least `wait_nr` completions.
  int SubmitAndWait(unsigned wait_nr) noexcept;
  int Submit() noexcept;

  io_uring* raw() noexcept { return &ring_; }
  int fd() const noexcept { return ring_.ring_fd; }
  const RingFeatures& features() const noexcept { return features_; }

  // Provided buffer ring (group 0): `count` buffers of `size` bytes.
  Status InitBufRing(uint32_t count, uint32_t size);
  uint16_t buf_group() const noexcept { return 0; }
  uint8_t* BufAddr(uint16_t bid) const noexcept { return bufs_ + std::size_t{bid} * buf_size_; }
  uint32_t buf_size() const noexcept { return buf_size_; }
  /// Hands buffer `bid` back to the kernel (made visible at the next Submit).
  void RecycleBuf(uint16_t bid) noexcept;

 private:
  io_uring ring_{};
  bool inited_ = false;
  RingFeatures features_;
  io_uring_buf_ring* br_ = nullptr;
  std::size_t br_bytes_ = 0;
  uint8_t* bufs_ = nullptr;
  uint32_t buf_count_ = 0;
  uint32_t buf_size_ = 0;
  uint32_t pending_recycles_ = 0;
};

}  // namespace mamute::core
