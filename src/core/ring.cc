#include "core/ring.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstdlib>

#include "util/log.h"

namespace mamute::core {

Ring::~Ring() {
  if (br_ != nullptr && inited_) {
    io_uring_unregister_buf_ring(&ring_, 0);
  }
  if (inited_) io_uring_queue_exit(&ring_);
  if (br_ != nullptr) munmap(br_, br_bytes_);
  std::free(bufs_);
}

Status Ring::Init(unsigned entries) {
  io_uring_params p{};
  // Single issuer + deferred task running: completions run only when this thread
  // enters the kernel to wait, so no IPIs and no task-work interrupting the loop.
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL;
  p.flags |= IORING_SETUP_CQSIZE;
  p.cq_entries = entries * 4;
  int rc = io_uring_queue_init_params(entries, &ring_, &p);
  if (rc == 0) {
    features_.defer_taskrun = true;
  } else {
    // Older kernels: fall back to a plain ring with cooperative task running.
    p = io_uring_params{};
    p.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_CQSIZE;
    p.cq_entries = entries * 4;
    rc = io_uring_queue_init_params(entries, &ring_, &p);
    if (rc != 0) {
      p = io_uring_params{};
      rc = io_uring_queue_init_params(entries, &ring_, &p);
    }
    if (rc != 0) return Status::IoError(-rc, "io_uring_queue_init");
  }
  inited_ = true;
  if (io_uring_probe* probe = io_uring_get_probe_ring(&ring_)) {
    features_.msg_ring = io_uring_opcode_supported(probe, IORING_OP_MSG_RING);
    // Multishot recv/accept arrived with 6.0 / 5.19; both need these opcodes and FEAT_FAST_POLL.
    features_.recv_multishot = io_uring_opcode_supported(probe, IORING_OP_RECV) && (p.features & IORING_FEAT_FAST_POLL);
    features_.accept_multishot = io_uring_opcode_supported(probe, IORING_OP_ACCEPT);
    io_uring_free_probe(probe);
  }
  if (const char* e = std::getenv("MAMUTE_TEST_NO_MSG_RING"); e != nullptr && e[0] == '1') {
    features_.msg_ring = false;  // exercise the eventfd fallback in tests
  }
  return Status::Ok();
}

io_uring_sqe* Ring::Sqe() noexcept {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  while (sqe == nullptr) {
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

int Ring::SubmitAndWait(unsigned wait_nr) noexcept {
  if (pending_recycles_ != 0) {
    io_uring_buf_ring_advance(br_, static_cast<int>(pending_recycles_));
    pending_recycles_ = 0;
  }
  return io_uring_submit_and_wait(&ring_, wait_nr);
}

int Ring::Submit() noexcept {
  if (pending_recycles_ != 0) {
    io_uring_buf_ring_advance(br_, static_cast<int>(pending_recycles_));
    pending_recycles_ = 0;
  }
  return io_uring_submit(&ring_);
}

Status Ring::InitBufRing(uint32_t count, uint32_t size) {
  if (count == 0 || (count & (count - 1)) != 0 || count > 32768) {
    return Status::InvalidArgument("recv buffer count must be a power of two <= 32768");
  }
  br_bytes_ = sizeof(io_uring_buf) * count;
  void* mem = mmap(nullptr, br_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) return Status::IoError(errno, "mmap buffer ring");
  br_ = static_cast<io_uring_buf_ring*>(mem);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(br_);
  reg.ring_entries = count;
  reg.bgid = 0;
  int rc = io_uring_register_buf_ring(&ring_, &reg, 0);
  if (rc != 0) {
    munmap(br_, br_bytes_);
    br_ = nullptr;
    return Status::IoError(-rc, "io_uring_register_buf_ring");
  }
  io_uring_buf_ring_init(br_);
  bufs_ = static_cast<uint8_t*>(std::aligned_alloc(4096, std::size_t{count} * size));
  if (bufs_ == nullptr) return Status::ResourceExhausted("receive buffers");
  buf_count_ = count;
  buf_size_ = size;
  int mask = io_uring_buf_ring_mask(count);
  for (uint32_t i = 0; i < count; ++i) {
    io_uring_buf_ring_add(br_, BufAddr(static_cast<uint16_t>(i)), size, static_cast<uint16_t>(i), mask,
                          static_cast<int>(i));
  }
  io_uring_buf_ring_advance(br_, static_cast<int>(count));
  return Status::Ok();
}

void Ring::RecycleBuf(uint16_t bid) noexcept {
  io_uring_buf_ring_add(br_, BufAddr(bid), buf_size_, bid, io_uring_buf_ring_mask(buf_count_),
                        static_cast<int>(pending_recycles_));
  ++pending_recycles_;
}

}  // namespace mamute::core
