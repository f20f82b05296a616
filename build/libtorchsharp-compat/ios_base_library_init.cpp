// Defines std::ios_base_library_init(), the one GLIBCXX_3.4.32 symbol that TorchSharp 0.107.0's
// libLibTorchSharp.so imports (GCC 13+ emits a call to it wherever <iostream> is included).
// Older libstdc++ (Debian 12: up to GLIBCXX_3.4.30) initialises the standard streams through
// std::ios_base::Init instead, so constructing one once is an exact replacement.
#include <ios>

namespace std {
void ios_base_library_init() {
    static ios_base::Init init;
}
}  // namespace std
