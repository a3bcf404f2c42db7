// CPU topology helpers.
#pragma once

#include "mamute/status.h"

namespace mamute::core {

/// Online CPUs this process may run on (sched_getaffinity), at least 1.
int AvailableCpus() noexcept;
/// The n-th CPU of this process's affinity mask (wraps around).
int NthAllowedCpu(int n) noexcept;
/// Pins the calling thread to one CPU.
Status PinThisThread(int cpu) noexcept;

}  // namespace mamute::core
