#include "core/cpu.h"

#include <pthread.h>
#include <sched.h>

namespace mamute::core {

int AvailableCpus() noexcept {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
  int n = CPU_COUNT(&set);
  return n > 0 ? n : 1;
}

int NthAllowedCpu(int n) noexcept {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 0;
  int count = CPU_COUNT(&set);
  if (count <= 0) return 0;
  n %= count;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) {
      if (n == 0) return cpu;
      --n;
    }
  }
  return 0;
}

Status PinThisThread(int cpu) noexcept {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  int rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  if (rc != 0) return Status::FromErrno(rc, "pthread_setaffinity_np");
  return Status::Ok();
}

}  // namespace mamute::core
