# Sourced by setup.sh and build_llama_server.sh: the llama.cpp version and CMake flags for this CPU.
# The CPU's own vector extensions, but never AMX (a "native" build enables AMX kernels, which crash
# with SIGSEGV on virtual machines that do not grant AMX tiles).
LLAMA_VERSION=0.3.36
cpu_flags=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
llama_args="-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
for pair in avx:AVX avx2:AVX2 fma:FMA f16c:F16C bmi2:BMI2 avx_vnni:AVX_VNNI avx512f:AVX512 \
            avx512_vnni:AVX512_VNNI avx512_bf16:AVX512_BF16 avx512vbmi:AVX512_VBMI; do
  case "$cpu_flags" in *" ${pair%%:*} "*) llama_args="$llama_args -DGGML_${pair##*:}=ON" ;; esac
done
LLAMA_CMAKE_ARGS=${LLAMA_CMAKE_ARGS:-$llama_args}
RAG_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/rag-news"
