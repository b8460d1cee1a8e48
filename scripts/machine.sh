#!/usr/bin/env bash
# One line describing this machine, for benchmark reports.
cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | xargs)
cores=$(nproc 2>/dev/null)
mem=$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo 2>/dev/null)
flags=$(grep -m1 flags /proc/cpuinfo 2>/dev/null | tr ' ' '\n' | grep -E '^(avx512f|amx_bf16|avx2)$' | tr '\n' ' ' | xargs)
echo "${cores} cores, ${cpu:-unknown CPU} (${flags}), ${mem}, $(uname -sr)"
