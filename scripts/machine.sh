#!/usr/bin/env bash
# One line describing this machine, for benchmark reports: cores, CPU model,
# the instruction-set flags podsift's engine tiers use, memory, kernel.
cpu=$(grep -m1 -E '^(model name|Model name)' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | xargs)
[ -z "$cpu" ] && cpu=$(lscpu 2>/dev/null | awk -F: '/Model name/ {print $2; exit}' | xargs)
cores=$(nproc 2>/dev/null)
mem=$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo 2>/dev/null)
flags=$(grep -m1 -E '^(flags|Features)' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | tr ' ' '\n' \
  | grep -E '^(avx2|fma|avx512f|avx512bw|avx512vl|avx512_bf16|avx512_vnni|avx_vnni|amx_bf16|amx_tile|asimd|bf16|i8mm)$' \
  | tr '\n' ' ' | xargs)
echo "${cores} cores, ${cpu:-unknown CPU} (${flags:-no SIMD flags listed}), ${mem}, $(uname -sr)"
