#!/bin/bash
# GPU checks: build the shim against the machine's CUDA torch, run the GPU tests by reflection, then a real
# `mola train --device cuda --bf16` run and `mola doctor`. Outputs go to $OUT.
cd "$(dirname "$0")/.." || exit 1
# Run through the device tool with carry [".build/gpu"]: .build/gpu/dotnet.tar.xz (a .NET 10 runtime, the GPU
# machine has none) and .build/gpu/app/ (Release bins of MoLA.Parallel.Tests, NcclSharp.Tests, MoLA.Torch.Tests,
# MoLA.Cli and bench/gpu-runner merged into one folder). Results of 2026-11-22: bench/results/gpu-2026-11-22/.
nvidia-smi -L
mkdir -p /tmp/dn && tar -xJf .build/gpu/dotnet.tar.xz -C /tmp/dn || exit 1
export DOTNET_ROOT=/tmp/dn PATH=/tmp/dn:$PATH
TP=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
TL=$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))')/lib
SP=$(python3 -c 'import site;print(site.getsitepackages()[0])')
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "nccl", torch.cuda.nccl.version())'
NCCL=$(find $SP/nvidia -name 'libnccl.so.2' | head -1)
CUDART=$(find $SP/nvidia -name 'libcudart.so.13' | head -1)
[ -z "$CUDART" ] && CUDART=$(find $SP/nvidia -name 'libcudart.so.12' | head -1)
echo "NCCL=$NCCL CUDART=$CUDART"
t0=$(date +%s)
if [ ! -f /tmp/nb/libmola_torch.so ]; then
  cmake -S native -B /tmp/nb -DCMAKE_PREFIX_PATH=$TP -DCMAKE_BUILD_TYPE=Release > $OUT/cmake.log 2>&1 || { tail -40 $OUT/cmake.log; exit 1; }
  make -C /tmp/nb -j16 > $OUT/make.log 2>&1 || { grep -m40 -B2 -A6 'error' $OUT/make.log; exit 1; }
fi
echo "shim built in $(( $(date +%s) - t0 )) s"
export MOLA_TORCH_LIB=/tmp/nb/libmola_torch.so NCCL_LIBRARY=$NCCL CUDART_LIBRARY=$CUDART LD_LIBRARY_PATH=$TL:$LD_LIBRARY_PATH NCCL_DEBUG=WARN
APP=$PWD/.build/gpu/app
( cd $APP && dotnet GpuRunner.dll \
  NcclSharp.Tests.dll:NcclSharp.Tests.NcclGpuTests \
  MoLA.Parallel.Tests.dll:MoLA.Parallel.Tests.NcclGpuTests MoLA.Parallel.Tests.dll:MoLA.Parallel.Tests.NcclBackendTests \
  MoLA.Torch.Tests.dll:MoLA.Torch.Tests.AutocastTests MoLA.Torch.Tests.dll:MoLA.Torch.Tests.ErrorTests 2>&1 | tee $OUT/tests.log | tail -60 )
dotnet $APP/mola.dll doctor 2>&1 | tee $OUT/doctor.log | head -30
for prec in fp32 bf16; do
  extra=""; [ $prec = bf16 ] && extra="--bf16 true"
  dotnet $APP/mola.dll train --device cuda $extra --out /tmp/run-$prec --steps 40 --batch-size 16 --lr 3e-3 --loss-on answer \
    --prompt-template alpaca-short --eval-format both --eval-limit 50 --log-every 10 2>&1 | tee $OUT/train-$prec.log | tail -16
done
