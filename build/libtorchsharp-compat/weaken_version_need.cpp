// Marks one entry of an ELF64 shared library's version-needs section (.gnu.version_r) as weak
// (vna_flags |= VER_FLG_WEAK), so the dynamic loader no longer refuses the library when the
// named version (e.g. GLIBCXX_3.4.32) is missing from the system library that provides it.
// Usage: weaken_version_need FILE VERSION_NAME      exit 0 = patched or already weak, 1 = error.
#include <elf.h>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 3) { std::fprintf(stderr, "usage: %s FILE VERSION_NAME\n", argv[0]); return 1; }
    std::ifstream in(argv[1], std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.size() < sizeof(Elf64_Ehdr) || std::memcmp(bytes.data(), ELFMAG, SELFMAG) != 0 ||
        bytes[EI_CLASS] != ELFCLASS64) {
        std::fprintf(stderr, "%s: not an ELF64 file\n", argv[1]); return 1;
    }
    auto* eh = reinterpret_cast<Elf64_Ehdr*>(bytes.data());
    auto* sh = reinterpret_cast<Elf64_Shdr*>(bytes.data() + eh->e_shoff);
    for (int i = 0; i < eh->e_shnum; ++i) {
        if (sh[i].sh_type != SHT_GNU_verneed) continue;
        const char* strtab = bytes.data() + sh[sh[i].sh_link].sh_offset;
        size_t need = sh[i].sh_offset;
        for (;;) {
            auto* vn = reinterpret_cast<Elf64_Verneed*>(bytes.data() + need);
            size_t aux = need + vn->vn_aux;
            for (int a = 0; a < vn->vn_cnt; ++a) {
                auto* va = reinterpret_cast<Elf64_Vernaux*>(bytes.data() + aux);
                if (std::strcmp(strtab + va->vna_name, argv[2]) == 0) {
                    va->vna_flags |= VER_FLG_WEAK;
                    std::ofstream out(argv[1], std::ios::binary | std::ios::trunc);
                    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
                    return out ? 0 : 1;
                }
                if (va->vna_next == 0) break;
                aux += va->vna_next;
            }
            if (vn->vn_next == 0) break;
            need += vn->vn_next;
        }
    }
    std::fprintf(stderr, "%s: no version need named %s\n", argv[1], argv[2]);
    return 1;
}
