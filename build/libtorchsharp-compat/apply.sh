#!/usr/bin/env bash
# Makes TorchSharp 0.107.0's libLibTorchSharp.so loadable on systems whose libstdc++ lacks
# GLIBCXX_3.4.32 (Debian 12 stops at 3.4.30). See shared/notes/ENVIRONMENT.md.
# It looks at no package path: it patches whichever libLibTorchSharp.so the build copied into NATIVE_DIR, that of
# TorchSharp-cpu (the default) or of TorchSharp-cuda-linux (-p:TorchBackend=cuda). Only the CPU one has been tried;
# the CUDA package was never restored here.
#
# Usage: apply.sh NATIVE_DIR   (the build output's runtimes/linux-x64/native)
# Acts only on the copy in NATIVE_DIR (never on the NuGet cache: the file is rewritten, which breaks
# any hard link to the cache), and only when the system libstdc++ lacks GLIBCXX_3.4.32.
# Needs g++ and patchelf; without them it explains what to install and exits 0, so that the
# build succeeds and `sne` reports the real cause when LibTorch fails to load.
set -euo pipefail
native_dir=$1
here=$(cd "$(dirname "$0")" && pwd)
lib="$native_dir/libLibTorchSharp.so"
shim_name=libsne-glibcxx-3.4.32-shim.so

[ -f "$lib" ] || exit 0
libstdcxx=$(ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64/ && !found {print $NF; found = 1}')
if [ -n "$libstdcxx" ] && grep -q 'GLIBCXX_3\.4\.32' "$libstdcxx"; then
  exit 0   # a newer distribution: nothing to do
fi
if readelf -d "$lib" 2>/dev/null | grep -q "$shim_name"; then
  exit 0   # this copy is already patched
fi
for tool in g++ patchelf readelf; do
  if ! command -v "$tool" >/dev/null; then
    echo "libtorchsharp-compat: '$tool' is missing; install it (apt-get install -y g++ patchelf binutils) and rebuild, or LibTorch will not load" >&2
    exit 0
  fi
done

cache="${XDG_CACHE_HOME:-$HOME/.cache}/sne-libtorchsharp-compat"
mkdir -p "$cache"
[ -x "$cache/weaken_version_need" ] && [ "$cache/weaken_version_need" -nt "$here/weaken_version_need.cpp" ] \
  || g++ -O2 -o "$cache/weaken_version_need" "$here/weaken_version_need.cpp"
[ -f "$cache/$shim_name" ] && [ "$cache/$shim_name" -nt "$here/ios_base_library_init.cpp" ] \
  || g++ -O2 -shared -fPIC -o "$cache/$shim_name" "$here/ios_base_library_init.cpp"

tmp="$lib.patching.$$"
cp "$lib" "$tmp"
"$cache/weaken_version_need" "$tmp" GLIBCXX_3.4.32
patchelf --add-needed "$shim_name" "$tmp"
cp "$cache/$shim_name" "$native_dir/$shim_name"
mv -f "$tmp" "$lib"
echo "libtorchsharp-compat: patched $lib for a libstdc++ without GLIBCXX_3.4.32"
