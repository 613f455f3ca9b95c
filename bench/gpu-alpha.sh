#!/bin/bash
# GPU timing of `mola bench alpha --device cuda` (reuses the shim build of run.sh when the machine is warm).
cd "$(dirname "$0")/.." || exit 1
# Run through the device tool with carry [".build/gpu"] (see bench/gpu-check.sh for what .build/gpu holds).
mkdir -p /tmp/dn && [ -x /tmp/dn/dotnet ] || tar -xJf .build/gpu/dotnet.tar.xz -C /tmp/dn || exit 1
export DOTNET_ROOT=/tmp/dn PATH=/tmp/dn:$PATH
TP=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
TL=$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))')/lib
if [ ! -f /tmp/nb/libmola_torch.so ]; then
  cmake -S native -B /tmp/nb -DCMAKE_PREFIX_PATH=$TP -DCMAKE_BUILD_TYPE=Release > $OUT/cmake.log 2>&1 || exit 1
  make -C /tmp/nb -j16 > $OUT/make.log 2>&1 || { grep -m20 error $OUT/make.log; exit 1; }
fi
export MOLA_TORCH_LIB=/tmp/nb/libmola_torch.so LD_LIBRARY_PATH=$TL:$LD_LIBRARY_PATH
dotnet .build/gpu/app/mola.dll bench alpha --device cuda --repeats 3 2>&1 | tee $OUT/alpha-cuda.log
